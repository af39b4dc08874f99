"""The S3 notification model (keys decoded whole, lenient about what moto and AWS leave out) and the Upload
value every consumer of the uploads topic makes of it (identity, correlation id, write order)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import S3EventRecord, Upload, upload_of
from tests.unit.shapes import s3_record

pytestmark = pytest.mark.service("shared")


@pytest.mark.parametrize(
    ("sent", "real"),
    [
        ("my+video.mp4", "my video.mp4"),
        ("a%2Bb.mp4", "a+b.mp4"),
        ("100%25.mp4", "100%.mp4"),
        ("vid%C3%A9o+%E6%97%A5%E6%9C%AC.mov", "vidéo 日本.mov"),
        ("my.holiday.2024.final.mp4", "my.holiday.2024.final.mp4"),
        ("uploads/alice/vid00001/my+clip.mp4", "uploads/alice/vid00001/my clip.mp4"),
        ("uploads%2Falice%2Fvid00001%2Fmy+clip.v2.mp4", "uploads/alice/vid00001/my clip.v2.mp4"),
    ],
    ids=["space", "real-plus", "percent", "unicode", "many-dots", "aws-slashes", "moto-encoded-slashes"],
)
def test_key_is_decoded_to_the_full_object_name(sent: str, real: str) -> None:
    # Given a record whose key is URL-encoded the way S3 (or moto) sends it
    record = S3EventRecord.model_validate(s3_record(sent))

    # When the key is read
    key = record.key

    # Then it is the object's real name, whole, and the raw form is kept as sent
    assert key == real
    assert record.s3.object.key == sent


def test_moto_shaped_record_parses() -> None:
    # Given a record as moto sends it: no userIdentity, requestParameters, responseElements or sequencer
    shape = s3_record("uploads/alice/vid00001/clip.mp4", size=2048, etag="abc123")

    # When it is parsed
    record = S3EventRecord.model_validate(shape)

    # Then every field the services use is there
    assert record.bucket == "uploads"
    assert record.key == "uploads/alice/vid00001/clip.mp4"
    assert record.is_object_created
    assert record.s3.object.size == 2048
    assert record.s3.object.e_tag == "abc123"
    assert record.response_elements is None
    assert record.event_time is not None and record.event_time.utcoffset() is not None


def test_unknown_fields_are_ignored() -> None:
    # Given a record carrying fields this model does not know, at every level
    shape = s3_record()
    shape["glacierEventData"] = {"restoreEventData": {"lifecycleRestoreStorageClass": "Standard"}}
    shape["s3"]["futureField"] = 1
    shape["s3"]["bucket"]["ownerIdentity"] = {"principalId": "A3NL1KOZZKExample"}
    shape["s3"]["object"]["checksum"] = {"algorithm": "CRC64NVME"}

    # When it is parsed
    record = S3EventRecord.model_validate(shape)

    # Then it parses, and the unknown fields are dropped rather than kept
    assert record.key == "uploads/alice/vid00001/clip.mp4"
    dumped = record.model_dump(by_alias=True)
    assert "glacierEventData" not in dumped
    assert "futureField" not in dumped["s3"]
    assert "checksum" not in dumped["s3"]["object"]


def _upload(key: str = "uploads/alice/vid00001/clip.mp4", **fields: Any) -> Upload:
    return upload_of(S3EventRecord.model_validate(s3_record(key, **fields)))


def test_an_upload_knows_its_video_owner_and_file_from_the_key() -> None:
    upload = _upload("uploads/alice/vid00001/my+clip.mp4", size=2048, etag="abc")
    assert (upload.video_id, upload.owner, upload.filename) == ("vid00001", "alice", "my clip.mp4")
    assert upload.source.model_dump() == {
        "bucket": "uploads", "key": "uploads/alice/vid00001/my clip.mp4", "version": "abc", "size_bytes": 2048
    }  # fmt: skip


def test_the_identity_prefers_the_version_id() -> None:
    # Given a record from a versioned bucket, which has both a version id and an ETag
    record = _upload("my+clip.mp4", etag="etag-1", version_id="v-42")

    # When the upload it announces is identified
    identity = record.identity

    # Then it names the bucket, the decoded key and the version id
    assert identity == "s3://uploads/my clip.mp4#v-42"


def test_the_identity_falls_back_to_the_etag() -> None:
    # Given a record from an unversioned bucket
    record = _upload("my+clip.mp4", etag="etag-1")

    # When the upload it announces is identified
    identity = record.identity

    # Then the ETag tells this upload apart
    assert identity == "s3://uploads/my clip.mp4#etag-1"


def test_correlation_id_is_the_s3_request_id_when_present() -> None:
    # Given a record as AWS sends it, with responseElements
    record = _upload(request_id="C3D13FE58DE4C810")

    # When its correlation id is read
    correlation_id = record.correlation_id

    # Then it is S3's request id
    assert correlation_id == "C3D13FE58DE4C810"


def test_correlation_id_without_request_id_is_stable_per_object_version() -> None:
    # Given two parses of one moto-shaped record and a record of another upload of the same key
    first = _upload(etag="etag-1")
    again = _upload(etag="etag-1")
    other = _upload(etag="etag-2")

    # When their correlation ids are read
    ids = first.correlation_id, again.correlation_id, other.correlation_id

    # Then the same record always gives the same id, and another upload another one
    assert ids[0] and ids[0] == ids[1]
    assert ids[2] != ids[0]


@pytest.mark.parametrize("request_id", ["x" * 300, "a b", "<script>"])
def test_a_request_id_that_is_not_one_is_not_used_as_correlation_id(request_id: str) -> None:
    # Given a forged record whose request id is too long or has odd characters
    record = _upload(request_id=request_id, etag="etag-1")
    # Then the correlation id is the stable id of the object instead
    assert record.correlation_id == _upload(etag="etag-1").correlation_id


def _with_sequencer(sequencer: str | None) -> Upload:
    raw = s3_record(etag="e")
    raw["s3"]["object"]["sequencer"] = sequencer
    return upload_of(S3EventRecord.model_validate(raw))


def test_sequences_sort_in_write_order_whatever_their_length() -> None:
    # Given sequencers of S3 (hex, of varying length) in write order
    written = ["FF", "0100", "0055AED6DCD90281E5", "0055aed6dcd90281e6", "1" + "0" * 30]
    # Then their sequences sort the same way (left-padded with zeros, as S3 prescribes)
    sequences = [_with_sequencer(s).sequence for s in written]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(written)


@pytest.mark.parametrize("sequencer", [None, "", "not-hex", "F" * 65])
def test_no_usable_sequencer_gives_no_sequence(sequencer: str | None) -> None:
    assert _with_sequencer(sequencer).sequence is None
