"""The hostile input corpus (issue 5), parsing only: hostile keys and event bodies as the consumers open them.

The same cases through the real handlers are in tests/integration/test_hostile_corpus.py; the unreadable
shapes already listed in test_delivery.py (unknown event type, a future schema_version, over 256 KiB...) are not
repeated here.
"""

from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest

from contracts import (
    S3EventRecord,
    UnreadableMessage,
    VideoTranscodeFailedV1,
    open_delivery,
    open_uploads,
    rendition_key,
    upload_of,
)
from contracts.keys import VIDEO_ID_RE, derived_video_id
from tests.unit.shapes import HOSTILE_KEYS, s3_encoded, s3_event, s3_record, transcode_failed

pytestmark = pytest.mark.service("shared")

VIDEO_ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("encode", [s3_encoded, lambda key: quote_plus(key, safe="")], ids=["as AWS", "as moto"])
@pytest.mark.parametrize(("template", "owner", "filename"), list(HOSTILE_KEYS.values()), ids=list(HOSTILE_KEYS))
def test_a_hostile_key_opens_whole_and_maps_to_a_valid_video_folder(
    encode, template: str, owner: str | None, filename: str
) -> None:
    # Given an upload event naming a hostile key, encoded as S3 (or moto) writes it in the notification
    key = template.format(id=VIDEO_ID)
    # When the consumers open it into an upload
    [upload], _ = open_uploads(s3_event(s3_record(encode(key))), bucket="uploads")

    # Then the key is the object's exact name, decoded once (a literal '%2B' stays '%2B')
    assert upload.key == key
    # And the layout gives the owner and file name, or no owner and an id derived from the whole key
    assert (upload.owner, upload.filename) == (owner, filename)
    assert upload.video_id == (VIDEO_ID if owner else derived_video_id(key))
    # And the outputs go under videos/{video_id}/ for a valid id, whatever the key held
    assert VIDEO_ID_RE.fullmatch(upload.video_id)
    assert rendition_key(upload.video_id, "720p") == f"videos/{upload.video_id}/720p.mp4"


@pytest.mark.parametrize(
    "sent", ["a%E6%97.mp4", "%ZZ.mp4", "100%.mp4"], ids=["half a character", "bad escape", "lone %"]
)
def test_a_key_with_broken_percent_encoding_opens_without_raising(sent: str) -> None:
    # Given an upload event whose key is not valid percent-encoding
    document = s3_event(s3_record(f"uploads/alice/{VIDEO_ID}/{sent}"))

    # When it is opened
    [upload], _ = open_uploads(document, bucket="uploads")

    # Then it opens to some key under the same video (the transcoder then finds no such object: SOURCE_MISSING)
    assert upload.video_id == VIDEO_ID


def test_only_object_created_records_of_our_bucket_are_uploads() -> None:
    # Given one S3 event with records for our bucket, another bucket, and a deletion in our bucket
    ours = s3_record(f"uploads/alice/{VIDEO_ID}/a.mp4")
    theirs = s3_record(f"uploads/alice/{VIDEO_ID}/a.mp4", bucket="someone-elses-uploads")
    removed = s3_record(f"uploads/alice/{VIDEO_ID}/a.mp4", event_name="ObjectRemoved:Delete")

    # When the uploads in it are picked out
    wanted, skipped = open_uploads(s3_event(theirs, ours, removed), bucket="uploads")

    # Then only our ObjectCreated record is an upload; the others are skipped with a note, not refused
    assert [(u.bucket, u.key) for u in wanted] == [("uploads", f"uploads/alice/{VIDEO_ID}/a.mp4")]
    assert len(skipped) == 2 and "not the uploads bucket" in skipped[0] and "ObjectRemoved" in skipped[1]


def test_duplicate_deliveries_share_an_identity_and_rewrites_of_a_key_do_not() -> None:
    # Given the same record three times, and a second write of the same key (another ETag and a later sequencer)
    key = f"uploads/alice/{VIDEO_ID}/a.mp4"
    copies = [upload_of(S3EventRecord.model_validate(s3_record(key, etag="etag-1"))) for _ in range(3)]
    rewrite = s3_record(key, etag="etag-2")
    rewrite["s3"]["object"]["sequencer"] = "0055AED6DCD90281E6"

    # When their identities are read
    identities = {upload.identity for upload in copies}
    rewritten = upload_of(S3EventRecord.model_validate(rewrite)).identity

    # Then the copies are one object (done once), the rewrite is another version (done again)
    assert len(identities) == 1 and rewritten not in identities


@pytest.mark.parametrize(
    "field", ["event_type", "correlation_id", "video_id", "owner", "source", "reason_code", "reason"]
)
def test_a_video_event_missing_a_required_field_is_unreadable(field: str) -> None:
    # Given a VideoTranscodeFailed without one of the fields it requires (owner is required, though it may be null)
    document = {name: value for name, value in transcode_failed(VIDEO_ID).items() if name != field}

    # When it is opened
    # Then it is unreadable: the message fails alone, and after maxReceiveCount waits in the DLQ
    with pytest.raises(UnreadableMessage):
        open_delivery(json.dumps(document))


@pytest.mark.parametrize("field", ["event_id", "occurred_at", "schema_version"])
def test_a_video_event_missing_an_envelope_field_is_read_with_the_default(field: str) -> None:
    # Given a VideoTranscodeFailed v1 without a field the model has a default for (producers always send them)
    document = {name: value for name, value in transcode_failed(VIDEO_ID, version=1).items() if name != field}

    # When it is opened
    event = open_delivery(json.dumps(document))

    # Then it is read, with a fresh event id, the time of reading, or version 1 in place of the missing field
    assert isinstance(event, VideoTranscodeFailedV1) and event.schema_version == 1
    assert getattr(event, field) is not None


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.pop("eventName"),
        lambda r: r["s3"].pop("bucket"),
        lambda r: r["s3"]["object"].update(size="huge"),
        lambda r: r["s3"]["object"].update(key=None),
    ],
    ids=["no eventName", "no bucket", "size not a number", "key null"],
)
def test_an_s3_record_missing_or_mistyping_a_field_is_unreadable(change) -> None:
    # Given an upload event whose record lacks a field the consumers need, or has it with the wrong type
    record = s3_record()
    change(record)

    # When the uploads in it are picked out
    # Then it is unreadable as a whole (not half-processed)
    with pytest.raises(UnreadableMessage):
        open_uploads(s3_event(s3_record(), record), bucket="uploads")
