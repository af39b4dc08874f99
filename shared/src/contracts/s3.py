"""The S3 event notification, as AWS (and moto, and older event versions) deliver it.

Lenient on purpose: AWS owns this shape, so unknown fields are ignored and the
fields that moto or older event versions omit are optional.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field

_REQUEST_ID = re.compile(r"[A-Za-z0-9+/=_.-]{1,128}")  # S3's are 16 characters; anything odd is not one
_HEX = re.compile(r"[0-9A-Fa-f]{1,64}")


class _AwsShape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class S3Bucket(_AwsShape):
    name: str
    arn: str | None = None


class S3Object(_AwsShape):
    key: str = Field(description="URL-encoded as S3 sends it (space is '+').")
    size: int | None = None
    e_tag: str | None = Field(default=None, alias="eTag")
    version_id: str | None = Field(default=None, alias="versionId")
    sequencer: str | None = None

    @property
    def decoded_key(self) -> str:
        """The real object key: S3 form-encodes keys in notifications."""
        return unquote_plus(self.key)


class S3Entity(_AwsShape):
    bucket: S3Bucket
    object: S3Object
    configuration_id: str | None = Field(default=None, alias="configurationId")


class S3EventRecord(_AwsShape):
    event_version: str | None = Field(default=None, alias="eventVersion")
    event_source: str | None = Field(default=None, alias="eventSource")
    aws_region: str | None = Field(default=None, alias="awsRegion")
    event_time: datetime | None = Field(default=None, alias="eventTime")
    event_name: str = Field(alias="eventName")
    response_elements: dict[str, str] | None = Field(default=None, alias="responseElements")
    s3: S3Entity

    @property
    def bucket(self) -> str:
        return self.s3.bucket.name

    @property
    def key(self) -> str:
        return self.s3.object.decoded_key

    @property
    def is_object_created(self) -> bool:
        return self.event_name.startswith("ObjectCreated:")

    @property
    def object_identity(self) -> str:
        """What makes two deliveries 'the same upload': bucket, key and content version.

        The version id (versioned buckets) or the ETag (content hash) tell a
        re-upload of the same key apart from a duplicate delivery of one upload.
        """
        obj = self.s3.object
        version = obj.version_id or obj.e_tag or obj.sequencer or ""
        return f"s3://{self.bucket}/{self.key}#{version}"

    @property
    def correlation_id(self) -> str:
        """S3's request id where S3 sent one, else a stable id of the object: the same in every service."""
        request_id = (self.response_elements or {}).get("x-amz-request-id")
        if isinstance(request_id, str) and _REQUEST_ID.fullmatch(request_id):
            return request_id
        return str(uuid.uuid5(uuid.NAMESPACE_URL, self.object_identity))

    @property
    def sequence(self) -> str | None:
        """S3's sequencer in a form that sorts in write order (for events on the same key).

        Sequencers are hex strings of varying length: left-padded with zeros they compare
        lexicographically, as S3's documentation prescribes.
        """
        sequencer = self.s3.object.sequencer
        if not sequencer or not _HEX.fullmatch(sequencer):
            return None
        return sequencer.upper().rjust(64, "0")


class S3Event(_AwsShape):
    records: list[S3EventRecord] = Field(alias="Records", min_length=1)


class S3TestEvent(_AwsShape):
    """Sent once by S3 when a notification configuration is created; carries no object."""

    service: str = Field(alias="Service")
    event: str = Field(alias="Event", pattern=r"^s3:TestEvent$")
    bucket: str | None = Field(default=None, alias="Bucket")
    time: datetime | None = Field(default=None, alias="Time")
