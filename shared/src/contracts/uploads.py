"""An upload: one object that landed in the uploads bucket, as every consumer of the `uploads` topic sees it.

S3's notification record is AWS's shape (`contracts.s3`); `Upload` is ours. `upload_of` is
the one place that turns the first into the second, so every service agrees on what an
upload's video, owner, version and correlation id are.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from contracts.events import SourceObject
from contracts.keys import parse_upload_key
from contracts.s3 import S3EventRecord

_REQUEST_ID = re.compile(r"[A-Za-z0-9+/=_.-]{1,128}")  # S3's are 16 characters; anything odd is not one
_HEX = re.compile(r"[0-9A-Fa-f]{1,64}")


class Upload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: str
    key: str  # the real object name (decoded)
    video_id: str
    owner: str | None  # None for a key outside uploads/{owner}/{video_id}/
    filename: str
    version_id: str | None = None
    etag: str | None = None
    sequencer: str | None = None  # S3's, as sent
    size: int | None = None
    uploaded_at: datetime | None = None
    correlation_id: str

    @property
    def version(self) -> str:
        """What tells a re-upload of the same key apart from a duplicate delivery of one upload."""
        return _version(self.version_id, self.etag, self.sequencer)

    @property
    def identity(self) -> str:
        """Bucket, key and content version: two deliveries with the same identity are the same upload."""
        return _identity(self.bucket, self.key, self.version)

    @property
    def sequence(self) -> str | None:
        """S3's sequencer in a form that sorts in write order (for events on the same key).

        Sequencers are hex strings of varying length: left-padded with zeros they compare
        lexicographically, as S3's documentation prescribes.
        """
        if not self.sequencer or not _HEX.fullmatch(self.sequencer):
            return None
        return self.sequencer.upper().rjust(64, "0")

    @property
    def source(self) -> SourceObject:
        return SourceObject(bucket=self.bucket, key=self.key, version=self.version, size_bytes=self.size)


def _version(version_id: str | None, etag: str | None, sequencer: str | None) -> str:
    return version_id or etag or sequencer or ""


def _identity(bucket: str, key: str, version: str) -> str:
    return f"s3://{bucket}/{key}#{version}"


def upload_of(record: S3EventRecord) -> Upload:
    """The upload an S3 ObjectCreated record announces."""
    obj, key = record.s3.object, record.key
    parsed = parse_upload_key(key)
    # S3's request id where S3 sent a plausible one, else a stable id of the object: the same in every service.
    request_id = (record.response_elements or {}).get("x-amz-request-id")
    if not (isinstance(request_id, str) and _REQUEST_ID.fullmatch(request_id)):
        identity = _identity(record.bucket, key, _version(obj.version_id, obj.e_tag, obj.sequencer))
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, identity))
    return Upload(
        bucket=record.bucket,
        key=key,
        video_id=parsed.video_id,
        owner=parsed.owner,
        filename=parsed.filename,
        version_id=obj.version_id,
        etag=obj.e_tag,
        sequencer=obj.sequencer,
        size=obj.size,
        uploaded_at=record.event_time,
        correlation_id=request_id,
    )
