"""The catalog logic over a fake table with DynamoCatalog's conditional semantics, and DynamoCatalog's requests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from catalog.adapters.dynamo import DynamoCatalog
from catalog.logic.ports import Rank, Status
from catalog.logic.records import CatalogDeps, UploadDeps, record_failed, record_transcoded, record_upload
from catalog.logic.views import DeleteDeps, DetailsDeps, delete_video, video_details
from contracts import (
    FailureReason,
    PosterFile,
    RenditionFile,
    S3EventRecord,
    SourceObject,
    Upload,
    VideoDeleted,
    VideoReady,
    VideoTranscoded,
    VideoTranscodeFailed,
    stable_event_id,
    upload_of,
)
from contracts.events import TOMBSTONE_LIFETIME
from lambdakit.refusals import NotFound
from tests.unit.fakes import FakeCatalog, FakeProber, FakePublisher
from tests.unit.shapes import s3_record

pytestmark = pytest.mark.service("metadata")

VIDEO_ID = "vid00001"
KEY = "uploads/alice/vid00001/holiday clip.mp4"
SOURCE = SourceObject(bucket="uploads", key=KEY, version="etag-1", size_bytes=2_000_000)
NOW = datetime(2024, 5, 1, 12, 5, tzinfo=UTC)


def upload_record() -> Upload:
    return upload_of(
        S3EventRecord.model_validate(
            s3_record("uploads/alice/vid00001/holiday+clip.mp4", etag="etag-1", size=2_000_000, request_id="REQ1")
        )
    )


def transcoded() -> VideoTranscoded:
    renditions = [
        RenditionFile(
            name=name, bucket="transcoded", key=f"videos/{VIDEO_ID}/{name}.mp4", width=w, height=h, size_bytes=9
        )
        for name, w, h in [("720p", 1280, 720), ("480p", 854, 480)]
    ]
    return VideoTranscoded(
        event_id=stable_event_id("VideoTranscoded", "s3://uploads/...#etag-1"),
        occurred_at=datetime(2024, 5, 1, 12, 1, tzinfo=UTC),
        correlation_id="REQ1",
        video_id=VIDEO_ID,
        owner="alice",
        source=SOURCE,
        renditions=renditions,
        poster=PosterFile(
            bucket="transcoded", key=f"videos/{VIDEO_ID}/poster.jpg", width=1280, height=720, size_bytes=3
        ),
        started_at=datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC),
        timings={"download": 0.5, "probe": 0.1, "encode": 20.25, "upload": 0.75},
    )


def failed() -> VideoTranscodeFailed:
    return VideoTranscodeFailed(
        event_id=stable_event_id("VideoTranscodeFailed", "s3://uploads/...#etag-1"),
        occurred_at=datetime(2024, 5, 1, 12, 1, tzinfo=UTC),
        correlation_id="REQ1",
        video_id=VIDEO_ID,
        owner="alice",
        source=SOURCE,
        reason_code=FailureReason.NO_VIDEO_STREAM,
        reason="the file has no video stream",
    )


@dataclass
class Catalog:
    store: FakeCatalog
    prober: FakeProber
    publisher: FakePublisher
    deps: CatalogDeps
    uploads: UploadDeps

    @property
    def item(self) -> dict[str, Any]:
        item = self.store.get(VIDEO_ID)
        assert item is not None, "no catalog item"
        return item


def _catalog(publisher: FakePublisher | None = None) -> Catalog:
    store, prober, publisher = FakeCatalog(), FakeProber(), publisher or FakePublisher()
    deps = CatalogDeps(store=store, prober=prober, publisher=publisher, clock=lambda: NOW)
    return Catalog(store, prober, publisher, deps, UploadDeps(store, uploads_bucket="uploads", clock=lambda: NOW))


@pytest.fixture
def catalog() -> Catalog:
    return _catalog()


def test_an_upload_makes_an_uploaded_item(catalog: Catalog) -> None:
    # Given an S3 record of a new upload
    record = upload_record()

    # When it is recorded
    record_upload(record, catalog.uploads)

    # Then the video exists as UPLOADED, with what the upload says about it
    assert list(catalog.store.items) == [VIDEO_ID]
    item = catalog.item
    assert (item["status"], item["status_rank"]) == ("UPLOADED", Rank.UPLOADED)
    assert (item["owner"], item["title"]) == ("alice", "holiday clip.mp4")
    assert item["source"] == SOURCE.model_dump(mode="json")
    assert item["uploaded_at"] == item["created_at"] == "2024-05-01T12:00:00+00:00"
    assert item["correlation_id"] == "REQ1"


def test_an_upload_delivered_three_times_makes_one_item(catalog: Catalog) -> None:
    # Given an upload already recorded once
    record_upload(upload_record(), catalog.uploads)
    after_first = catalog.item

    # When the same record is delivered twice more
    record_upload(upload_record(), catalog.uploads)
    record_upload(upload_record(), catalog.uploads)

    # Then there is still one item, unchanged and UPLOADED
    assert list(catalog.store.items) == [VIDEO_ID]
    assert catalog.item == after_first
    assert catalog.item["status"] == Status.UPLOADED


def test_video_transcoded_makes_it_ready_and_announces_it(catalog: Catalog) -> None:
    # Given an uploaded video
    record_upload(upload_record(), catalog.uploads)

    # When the transcoder says its renditions exist
    ready = record_transcoded(transcoded(), catalog.deps)

    # Then it is READY with each rendition's metadata, and one VideoReady is published
    assert isinstance(ready, VideoReady)
    assert catalog.publisher.published == [ready]
    assert (ready.video_id, ready.owner, ready.title) == (VIDEO_ID, "alice", "holiday clip.mp4")
    assert ready.renditions == ["720p", "480p"]
    assert ready.duration_seconds == 12.5
    assert ready.correlation_id == "REQ1"
    assert ready.event_id == stable_event_id("VideoReady", transcoded().event_id)
    item = catalog.item
    assert item["status"] == Status.READY
    assert item["ready_published"] is True
    assert item["ready_event_id"] == ready.event_id
    assert [(r["name"], r["metadata"]["video"]["height"]) for r in item["renditions"]] == [("720p", 720), ("480p", 480)]
    assert item["poster"]["key"] == f"videos/{VIDEO_ID}/poster.jpg"


def test_video_transcoded_delivered_three_times_announces_once(catalog: Catalog) -> None:
    # Given an uploaded video
    record_upload(upload_record(), catalog.uploads)

    # When the same VideoTranscoded is delivered three times
    results = [record_transcoded(transcoded(), catalog.deps) for _ in range(3)]

    # Then the first delivery made it READY and the others did nothing
    assert isinstance(results[0], VideoReady)
    assert results[1:] == [None, None]
    assert catalog.publisher.published == [results[0]]
    assert catalog.item["status"] == Status.READY


def test_transcoded_before_uploaded_ends_ready(catalog: Catalog) -> None:
    # Given a VideoTranscoded that arrives before the upload notification
    record_transcoded(transcoded(), catalog.deps)
    before = catalog.item

    # When the upload notification arrives late
    record_upload(upload_record(), catalog.uploads)

    # Then the video stays READY, keeps what it had, and only gains the upload's own facts
    after = catalog.item
    assert after["status"] == Status.READY
    assert (after["owner"], after["title"]) == ("alice", "holiday clip.mp4")
    assert {k: after[k] for k in before} == before
    assert set(after) - set(before) == {"uploaded_at", "correlation_id"}
    assert len(catalog.publisher.published) == 1


def test_video_transcode_failed_marks_it_failed(catalog: Catalog) -> None:
    # Given an uploaded video
    record_upload(upload_record(), catalog.uploads)

    # When the transcoder gives up on it
    moved = record_failed(failed(), catalog.deps)

    # Then it is FAILED with the reason code, and nothing is announced
    assert moved is True
    item = catalog.item
    assert item["status"] == Status.FAILED
    assert item["failure"] == {"code": "NO_VIDEO_STREAM", "reason": "the file has no video stream"}
    assert catalog.publisher.published == []


def test_failed_then_transcoded_stays_failed(catalog: Catalog) -> None:
    # Given a video that failed
    record_upload(upload_record(), catalog.uploads)
    record_failed(failed(), catalog.deps)

    # When a VideoTranscoded for it arrives
    ready = record_transcoded(transcoded(), catalog.deps)

    # Then it stays FAILED, no VideoReady goes out, and its renditions are not even probed
    assert ready is None
    assert catalog.item["status"] == Status.FAILED
    assert catalog.publisher.attempts == []
    assert catalog.prober.probed == []


def test_ready_then_failed_stays_ready(catalog: Catalog) -> None:
    # Given a video that is READY
    record_upload(upload_record(), catalog.uploads)
    record_transcoded(transcoded(), catalog.deps)

    # When a VideoTranscodeFailed for it arrives
    moved = record_failed(failed(), catalog.deps)

    # Then it stays READY, without a failure
    assert moved is False
    assert catalog.item["status"] == Status.READY
    assert "failure" not in catalog.item


def test_a_failed_announcement_is_retried_exactly_once_more() -> None:
    # Given SNS that fails once, after the READY write
    catalog = _catalog(FakePublisher(failures=1))
    record_upload(upload_record(), catalog.uploads)
    with pytest.raises(ConnectionError):
        record_transcoded(transcoded(), catalog.deps)
    assert catalog.item["status"] == Status.READY
    assert "ready_published" not in catalog.item

    # When the same VideoTranscoded is delivered again (the SQS retry), and then once more
    retried = record_transcoded(transcoded(), catalog.deps)
    third = record_transcoded(transcoded(), catalog.deps)

    # Then the retry published VideoReady with the same event id, exactly once, and marked it published
    assert retried is not None
    assert retried.event_id == catalog.publisher.attempts[0].event_id
    assert catalog.publisher.published == [retried]
    assert catalog.item["ready_published"] is True
    assert third is None


# DynamoCatalog builds the conditional requests the fake above imitates.


class RecordingTable:
    def __init__(self, error_code: str | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self._error_code = error_code

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        if self._error_code:
            raise ClientError({"Error": {"Code": self._error_code, "Message": "no"}}, "UpdateItem")
        return {}


def _assignments(request: dict[str, Any]) -> dict[str, str]:
    """attribute name -> its right-hand side, with placeholders for values."""
    expression = request["UpdateExpression"]
    assert expression.startswith("SET ")
    names = request["ExpressionAttributeNames"]
    pairs = re.findall(r"(#a\d+) = (if_not_exists\(#a\d+, :v\d+\)|:v\d+)", expression)
    return {names[attr]: rhs for attr, rhs in pairs}


def _value_of(request: dict[str, Any], name: str) -> Any:
    (placeholder,) = re.findall(r":v\d+", _assignments(request)[name])
    return request["ExpressionAttributeValues"][placeholder]


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


def test_advance_sends_a_rank_condition() -> None:
    # Given DynamoCatalog over a table that records its requests
    table = RecordingTable()

    # When a video is advanced to READY
    moved = DynamoCatalog(table).advance(VIDEO_ID, Status.READY, {"ready_at": "t"}, {"title": "clip.mp4"})

    # Then the write is conditional on the stored rank being missing or lower than READY's
    assert moved is True
    (request,) = table.requests
    assert request["Key"] == {"video_id": VIDEO_ID}
    match = re.fullmatch(r"\(attribute_not_exists\((#a\d+)\) OR (#a\d+) < (:v\d+)\)", request["ConditionExpression"])
    assert match, request["ConditionExpression"]
    attr, again, value = match.groups()
    assert attr == again
    assert request["ExpressionAttributeNames"][attr] == "status_rank"
    assert request["ExpressionAttributeValues"][value] == Rank.READY == 3
    # And the new values are set, first values only if missing, status and rank always
    assignments = _assignments(request)
    assert set(assignments) == {"ready_at", "title", "status", "status_rank"}
    assert assignments["title"].startswith("if_not_exists(")
    assert not assignments["ready_at"].startswith("if_not_exists(")
    assert _value_of(request, "status") == "READY"


def test_advance_turns_floats_into_decimals() -> None:
    # Given values with floats, some nested
    table = RecordingTable()
    values = {"metadata_seconds": 0.25, "metadata": {"duration_seconds": 12.5, "video": {"fps": 29.97}}, "count": 2}

    # When they are written
    DynamoCatalog(table).advance(VIDEO_ID, Status.PROCESSING, values, {"created_at": "t"})

    # Then every float reaches DynamoDB as an exact Decimal, and ints stay ints
    (request,) = table.requests
    assert _floats(request["ExpressionAttributeValues"]) == []
    assert _value_of(request, "metadata_seconds") == Decimal("0.25")
    assert _value_of(request, "metadata") == {"duration_seconds": Decimal("12.5"), "video": {"fps": Decimal("29.97")}}
    assert _value_of(request, "count") == 2


def test_advance_returns_false_when_the_condition_fails() -> None:
    # Given a table whose condition check fails (the item is already at that rank or higher)
    table = RecordingTable(error_code="ConditionalCheckFailedException")

    # When a video is advanced
    moved = DynamoCatalog(table).advance(VIDEO_ID, Status.FAILED, {}, {"title": "clip.mp4"})

    # Then the caller learns it did not move
    assert moved is False


def test_advance_lets_other_errors_through() -> None:
    # Given a table that is throttling
    table = RecordingTable(error_code="ProvisionedThroughputExceededException")

    # When a video is advanced
    # Then the error reaches the caller (so the message is retried)
    with pytest.raises(ClientError):
        DynamoCatalog(table).advance(VIDEO_ID, Status.READY, {}, {"title": "clip.mp4"})


def test_note_upload_only_fills_what_is_missing() -> None:
    # Given DynamoCatalog over a table that records its requests
    table = RecordingTable()

    # When an upload is noted
    DynamoCatalog(table).note_upload(VIDEO_ID, {"title": "clip.mp4", "uploaded_at": "t"})

    # Then every assignment is if_not_exists, and the only condition is that the item is not a tombstone
    (request,) = table.requests
    assignments = _assignments(request)
    assert set(assignments) == {"title", "uploaded_at", "status", "status_rank"}
    assert all(rhs.startswith("if_not_exists(") for rhs in assignments.values())
    _assert_not_a_tombstone(request, request["ConditionExpression"])
    assert (_value_of(request, "status"), _value_of(request, "status_rank")) == ("UPLOADED", 1)


def _assert_not_a_tombstone(request: dict[str, Any], condition: str) -> None:
    match = re.fullmatch(r"\(attribute_not_exists\((#a\d+)\) OR (#a\d+) <> (:v\d+)\)", condition)
    assert match, condition
    attr, again, value = match.groups()
    assert attr == again and request["ExpressionAttributeNames"][attr] == "status"
    assert request["ExpressionAttributeValues"][value] == "DELETED"


def test_every_writer_of_the_table_refuses_a_tombstone() -> None:
    # Given DynamoCatalog over a table that records its requests
    table = RecordingTable()
    catalog = DynamoCatalog(table)

    # When each kind of write is made
    catalog.note_upload(VIDEO_ID, {"title": "t"}, latest={"source": {}}, sequence="0" * 64)
    catalog.advance(VIDEO_ID, Status.READY, {}, {"title": "t"})
    catalog.set_values(VIDEO_ID, {"ready_published": True})

    # Then each is conditional on the item not being DELETED: by name, or by a rank below the tombstone's
    upload, advance, mark = table.requests
    _assert_not_a_tombstone(upload, upload["ConditionExpression"].split(" AND ")[1])
    assert max(Rank.READY, Rank.FAILED) < Rank.DELETED  # the rank condition of advance refuses it
    assert _value_of(advance, "status_rank") < Rank.DELETED
    assert mark["ConditionExpression"].startswith("attribute_exists(video_id) AND ")
    _assert_not_a_tombstone(mark, mark["ConditionExpression"].split(" AND ", 1)[1])


def _deleted(catalog: Catalog) -> VideoDeleted:
    deps = DeleteDeps(catalog.store, catalog.publisher, clock=lambda: NOW)
    return delete_video("alice", VIDEO_ID, correlation_id="req-9", deps=deps)


def test_a_deleted_video_leaves_a_tombstone_that_expires_after_the_dlq_retention(catalog: Catalog) -> None:
    # Given a READY video
    record_upload(upload_record(), catalog.uploads)
    record_transcoded(transcoded(), catalog.deps)

    # When its owner deletes it
    deleted = _deleted(catalog)

    # Then VideoDeleted names its source, and only a tombstone is left, with no created_at (not in the list index)
    assert catalog.publisher.published[-1] == deleted and deleted.source == SOURCE
    assert catalog.item == {
        "video_id": VIDEO_ID,
        "owner": "alice",
        "status": "DELETED",
        "status_rank": Rank.DELETED,
        "deleted_at": NOW.isoformat(),
        "expires_at": int((NOW + TOMBSTONE_LIFETIME).timestamp()),
    }
    # And the owner can neither see it nor delete it again
    with pytest.raises(NotFound):
        video_details("alice", VIDEO_ID, DetailsDeps(catalog.store, signer=None))  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        _deleted(catalog)


def test_no_late_or_duplicate_event_brings_a_deleted_video_back(catalog: Catalog) -> None:
    # Given a video deleted while it was being transcoded
    record_upload(upload_record(), catalog.uploads)
    _deleted(catalog)
    tombstone = catalog.item
    published = len(catalog.publisher.published)

    # When the upload event, VideoTranscoded and VideoTranscodeFailed arrive (3 times each)
    for _ in range(3):
        record_upload(upload_record(), catalog.uploads)
        assert record_transcoded(transcoded(), catalog.deps) is None
        assert record_failed(failed(), catalog.deps) is False

    # Then the tombstone is unchanged: nothing probed, nothing announced
    assert catalog.item == tombstone
    assert catalog.prober.probed == []
    assert len(catalog.publisher.published) == published
