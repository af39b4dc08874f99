"""The catalog logic over a fake table with DynamoCatalog's conditional semantics, and DynamoCatalog's requests."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from catalog.adapters.dynamo import DynamoCatalog, from_item
from catalog.logic.items import VideoItem
from catalog.logic.ports import Rank, Status
from catalog.logic.records import (
    CatalogDeps,
    UploadDeps,
    record_failed,
    record_progress,
    record_transcoded,
    record_upload,
)
from catalog.logic.streams import stream_summary
from catalog.logic.views import (
    DeleteDeps,
    DetailsDeps,
    ListDeps,
    decode_cursor,
    delete_video,
    encode_cursor,
    list_videos,
    video_details,
)
from contracts import (
    ChunkRef,
    FailureReason,
    PosterFile,
    RenditionFile,
    S3EventRecord,
    SourceObject,
    Upload,
    VideoDeleted,
    VideoReady,
    VideoTranscodedV1,
    VideoTranscodeFailed,
    stable_event_id,
    upload_of,
)
from contracts.api import PageQuery
from contracts.events import TOMBSTONE_LIFETIME, PlayablePrefix
from contracts.readable import failure_sentence
from lambdakit.refusals import Invalid, NotFound
from tests.unit import shapes
from tests.unit.fakes import FakeCatalog, FakeProber, FakePublisher, FakeSigner, media_summary
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


def transcoded() -> VideoTranscodedV1:
    """A version 1 VideoTranscoded (MP4 renditions only), as messages still waiting in a DLQ carry it."""
    renditions = [
        RenditionFile(
            name=name, bucket="transcoded", key=f"videos/{VIDEO_ID}/{name}.mp4", width=w, height=h, size_bytes=9
        )
        for name, w, h in [("720p", 1280, 720), ("480p", 854, 480)]
    ]
    return VideoTranscodedV1(
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
        """The item as stored (what DynamoDB would hold)."""
        assert VIDEO_ID in self.store.items, "no catalog item"
        return self.store.stored(VIDEO_ID)


def _catalog(publisher: FakePublisher | None = None) -> Catalog:
    store, prober, publisher = FakeCatalog(), FakeProber(), publisher or FakePublisher()
    deps = CatalogDeps(store=store, prober=prober, publisher=publisher, clock=lambda: NOW)
    return Catalog(
        store,
        prober,
        publisher,
        deps,
        UploadDeps(store, uploads_bucket="uploads", publisher=publisher, clock=lambda: NOW),
    )


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
    assert catalog.publisher.announced == [ready]
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
    assert catalog.publisher.announced == [results[0]]
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
    assert len(catalog.publisher.announced) == 1


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
    assert catalog.publisher.announced == []


def test_failed_then_transcoded_ends_ready_and_announces_once(catalog: Catalog) -> None:
    # Given a video whose workflow failed on a chunk
    record_upload(upload_record(), catalog.uploads)
    record_failed(shapes.failed(VIDEO_ID, chunk=ChunkRef(index=2, start_seconds=8, end_seconds=12)), catalog.deps)
    assert catalog.item["status"] == Status.FAILED

    # When the redriven workflow succeeds and its VideoTranscoded arrives (three times)
    results = [record_transcoded(shapes.transcoded_v2(VIDEO_ID), catalog.deps) for _ in range(3)]

    # Then the video is READY and VideoReady went out exactly once
    assert isinstance(results[0], VideoReady) and results[1:] == [None, None]
    assert catalog.publisher.announced == [results[0]]
    assert (catalog.item["status"], catalog.item["status_rank"]) == (Status.READY, Rank.READY)
    # And the details show no failure any more
    details = video_details("alice", VIDEO_ID, DetailsDeps(catalog.store, signer=FakeSigner()))
    assert details.status == "READY" and details.failure is None


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
    catalog = _catalog(FakePublisher(failures=1, only="VideoReady"))
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
    assert retried.event_id == next(e for e in catalog.publisher.attempts if isinstance(e, VideoReady)).event_id
    assert catalog.publisher.announced == [retried]
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
    assert request["ExpressionAttributeValues"][value] == Rank.READY == 4
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
    catalog.note_progress(VIDEO_ID, 0.5, {"chunks_done": 2}, {"title": "t"})

    # Then each is conditional on the item not being DELETED: by name, or by a rank below the tombstone's
    upload, advance, mark, progress = table.requests
    _assert_not_a_tombstone(upload, upload["ConditionExpression"].split(" AND ")[1])
    assert max(Rank.READY, Rank.FAILED) < Rank.DELETED  # the rank condition of advance refuses it
    assert _value_of(advance, "status_rank") < Rank.DELETED
    assert _value_of(progress, "status_rank") == Rank.PROCESSING < Rank.DELETED
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
    assert catalog.publisher.announced[-1] == deleted and deleted.source == SOURCE
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
    published = len(catalog.publisher.announced)

    # When the upload event, VideoTranscoded (v1 and v2), VideoTranscodeFailed and progress arrive (3 times each)
    for _ in range(3):
        record_upload(upload_record(), catalog.uploads)
        assert record_progress(shapes.progress(VIDEO_ID, 1), catalog.deps) is False
        assert record_transcoded(transcoded(), catalog.deps) is None
        assert record_transcoded(shapes.transcoded_v2(VIDEO_ID), catalog.deps) is None
        assert record_failed(failed(), catalog.deps) is False

    # Then the tombstone is unchanged: nothing probed, nothing announced
    assert catalog.item == tombstone
    assert catalog.prober.probed == []
    assert len(catalog.publisher.announced) == published


# Version 2 of VideoTranscoded (the chunked workflow: an HLS package, MP4 downloads where they fit), progress.


def _details(catalog: Catalog) -> Any:
    return video_details("alice", VIDEO_ID, DetailsDeps(catalog.store, signer=FakeSigner(), clock=lambda: NOW))


def test_video_transcoded_v2_stores_the_stream_package_and_announces_its_rungs(catalog: Catalog) -> None:
    # Given an uploaded video
    record_upload(upload_record(), catalog.uploads)
    event = shapes.transcoded_v2(VIDEO_ID, duration=12.25, chunks=3)

    # When the workflow's VideoTranscoded v2 arrives
    ready = record_transcoded(event, catalog.deps)

    # Then each download was probed (best first), and VideoReady names the stream's rungs and the event's duration
    assert [r.name for r in catalog.prober.probed] == ["720p", "480p"]
    assert ready is not None and catalog.publisher.announced == [ready]
    assert (ready.renditions, ready.duration_seconds) == (["720p", "480p"], 12.25)
    # And the item keeps the package, downloads with their metadata, poster, thumbnails, chunks and duration
    item = catalog.item
    assert item["status"] == Status.READY
    assert item["stream"] == event.stream.model_dump(mode="json")
    assert item["stream"]["master"] == f"videos/{VIDEO_ID}/hls/master.m3u8"
    assert [(r["name"], r["metadata"]["video"]["height"]) for r in item["renditions"]] == [("720p", 720), ("480p", 480)]
    assert item["metadata"] == item["renditions"][0]["metadata"]
    assert item["poster"] == event.poster.model_dump(mode="json")
    assert item["thumbnails"]["interval_seconds"] == 2.0
    assert (item["chunks"], item["duration_seconds"]) == (3, 12.25)


def test_video_transcoded_v2_without_downloads_is_ready_with_metadata_from_the_event(catalog: Catalog) -> None:
    # Given an uploaded long video whose workflow made no MP4 downloads
    record_upload(upload_record(), catalog.uploads)
    event = shapes.transcoded_v2(VIDEO_ID, downloads=[], duration=5400.0)

    # When its VideoTranscoded arrives
    ready = record_transcoded(event, catalog.deps)

    # Then nothing is probed, and the video is READY with the top rung's facts as its metadata
    assert catalog.prober.probed == []
    assert ready is not None and (ready.renditions, ready.duration_seconds) == (["720p", "480p"], 5400.0)
    item = catalog.item
    assert item["status"] == Status.READY and item["renditions"] == []
    meta = item["metadata"]
    assert (meta["container"], meta["duration_seconds"], meta["bitrate"]) == ("hls", 5400.0, 2_400_000)
    assert meta["video"] == {
        "codec": "h264",
        "width": 1280,
        "height": 720,
        "fps": 30.0,
        "bitrate": None,
        "duration_seconds": 5400.0,
    }
    assert meta["audio"] == {"codec": "aac", "channels": None, "sample_rate": None, "bitrate": None}
    # And the details have an empty list of downloads, the ladder and the thumbnails, but no link to the master
    details = _details(catalog)
    assert details.renditions == [] and details.metadata is not None and details.metadata.duration_seconds == 5400
    assert details.stream is not None and [r.name for r in details.stream.renditions] == ["720p", "480p"]
    assert "master" not in details.model_dump_json() and "m3u8" not in details.model_dump_json()


@pytest.mark.parametrize(
    ("codecs", "audio", "video_codec", "audio_codec"),
    [
        ("avc1.64001f,mp4a.40.2", True, "h264", "aac"),
        ("hvc1.1.6.L93.B0,ec-3", True, "hevc", "eac3"),
        ("av01.0.04M.08", False, "av1", None),
        ("mp4a.40.2,vp09.00.10.08", True, "vp9", "aac"),
        ("wxyz.1", True, None, None),
    ],
)
def test_the_codecs_of_a_stream_are_read_from_its_codecs_string(
    codecs: str, audio: bool, video_codec: str | None, audio_codec: str | None
) -> None:
    # Given a package whose best rung declares these codecs
    stream = shapes.stream_package(VIDEO_ID, codecs=codecs, audio=audio)

    # When it is summarised
    summary = stream_summary(stream, 60.0)

    # Then the codecs have ffprobe's names, and a silent package has no audio track
    assert summary.video is not None and summary.video.codec == video_codec
    assert (summary.audio.codec if summary.audio else None) == audio_codec
    assert (summary.audio is not None) == audio


def test_progress_moves_an_uploaded_video_to_processing_and_only_increases(catalog: Catalog) -> None:
    # Given an uploaded video
    record_upload(upload_record(), catalog.uploads)

    # When progress events arrive out of order and repeated: 1/4, 3/4, 2/4, 3/4, 1/4
    moved = [record_progress(shapes.progress(VIDEO_ID, done, 4), catalog.deps) for done in (1, 3, 2, 3, 1)]

    # Then only the increases were written, and the video is PROCESSING at 3/4
    assert moved == [True, True, False, False, False]
    item = catalog.item
    assert (item["status"], item["status_rank"]) == (Status.PROCESSING, Rank.PROCESSING)
    assert (item["progress"], item["chunks_done"], item["chunks_total"]) == (0.75, 3, 4)
    assert item["title"] == "holiday clip.mp4"  # the upload's facts are kept
    # And the details show it, with nothing to download yet
    details = _details(catalog)
    assert (details.status, details.progress, details.renditions, details.urls_expire_at) == (
        "PROCESSING",
        0.75,
        [],
        None,
    )
    assert catalog.publisher.announced == []


def test_progress_before_the_upload_event_makes_a_processing_video_that_the_upload_completes(
    catalog: Catalog,
) -> None:
    # Given a progress event that arrives before the upload notification
    record_progress(shapes.progress(VIDEO_ID, 1, 2), catalog.deps)

    # When the upload notification arrives late
    record_upload(upload_record(), catalog.uploads)

    # Then the video stays PROCESSING at 1/2, with the upload's facts filled in
    item = catalog.item
    assert (item["status"], item["progress"], item["owner"], item["title"]) == (
        "PROCESSING",
        0.5,
        "alice",
        "holiday clip.mp4",
    )
    assert item["uploaded_at"] == "2024-05-01T12:00:00+00:00"


@pytest.mark.parametrize("final", ["READY", "FAILED", "DELETED"])
def test_progress_never_touches_a_final_video(catalog: Catalog, final: str) -> None:
    # Given a video that is READY, FAILED or deleted (after some progress)
    record_upload(upload_record(), catalog.uploads)
    record_progress(shapes.progress(VIDEO_ID, 1, 4), catalog.deps)
    if final == "READY":
        record_transcoded(shapes.transcoded_v2(VIDEO_ID), catalog.deps)
    elif final == "FAILED":
        record_failed(failed(), catalog.deps)
    else:
        _deleted(catalog)
    before = catalog.item

    # When late progress arrives, lower and higher
    moved = [record_progress(shapes.progress(VIDEO_ID, done, 4), catalog.deps) for done in (0, 2, 4)]

    # Then nothing changed, and the details (where visible) show no progress
    assert moved == [False, False, False]
    assert catalog.item == before
    if final != "DELETED":
        assert _details(catalog).progress is None


def test_a_failed_chunk_is_kept_and_shown_in_the_details(catalog: Catalog) -> None:
    # Given an uploaded video
    record_upload(upload_record(), catalog.uploads)
    chunk = ChunkRef(index=2, start_seconds=8.0, end_seconds=12.0)

    # When the workflow reports that a chunk failed, and then the same failure again, then another one
    moved = [
        record_failed(shapes.failed(VIDEO_ID, chunk=chunk), catalog.deps),
        record_failed(shapes.failed(VIDEO_ID, chunk=chunk), catalog.deps),
        record_failed(shapes.failed(VIDEO_ID, version=1), catalog.deps),
    ]

    # Then the first failure is kept, with its chunk, and GET /videos/{id} shows it
    assert moved == [True, False, False]
    assert catalog.item["failure"] == {
        "code": "TRANSCODE_FAILED",
        "reason": "chunk 2 could not be encoded",
        "chunk": {"index": 2, "start_seconds": 8.0, "end_seconds": 12.0},
    }
    details = _details(catalog)
    assert details.status == "FAILED" and details.failure is not None and details.failure.chunk is not None
    assert (details.failure.code, details.failure.chunk.index, details.failure.chunk.end_seconds) == (
        "TRANSCODE_FAILED",
        2,
        12.0,
    )
    assert details.progress is None


def test_a_version_1_failure_is_recorded_as_before(catalog: Catalog) -> None:
    # Given an uploaded video
    record_upload(upload_record(), catalog.uploads)

    # When a VideoTranscodeFailed v1 (from a DLQ) arrives
    moved = record_failed(shapes.failed(VIDEO_ID, version=1), catalog.deps)

    # Then it is FAILED with the code and reason only, and its owner reads the code's sentence
    assert moved is True
    assert catalog.item["failure"] == {"code": "NO_VIDEO_STREAM", "reason": "the file has no video stream"}
    details = _details(catalog).model_dump(mode="json")
    assert details["failure"] == {
        "code": "NO_VIDEO_STREAM",
        "reason": failure_sentence(FailureReason.NO_VIDEO_STREAM),
        "chunk": None,
    }


@pytest.mark.parametrize("chunk", [None, ChunkRef(index=2, start_seconds=120.0, end_seconds=180.0)], ids=["", "chunk"])
def test_a_failure_that_carried_ffmpegs_words_is_shown_and_announced_as_its_sentence(
    catalog: Catalog, chunk: ChunkRef | None
) -> None:
    # Given an uploaded video
    record_upload(upload_record(), catalog.uploads)

    # When a VideoTranscodeFailed arrives whose reason is ffmpeg's text (one sent before reasons were sentences)
    record_failed(shapes.failed(VIDEO_ID, chunk=chunk, reason=shapes.FFMPEG_WORDS), catalog.deps)

    # Then GET /videos/{id} and the status change both give the sentence of its code (and the part, in words)
    code = FailureReason.TRANSCODE_FAILED if chunk else FailureReason.NO_VIDEO_STREAM
    failure = _details(catalog).failure
    [change] = [c for c in catalog.publisher.status_changes if c.status == "FAILED"]
    assert failure is not None and failure.code == code
    assert failure.reason == change.reason == failure_sentence(code, chunk)
    assert ("from 2:00 to 3:00" in failure.reason) is bool(chunk)
    # And none of ffmpeg's words
    assert [word for word in shapes.TOOL_WORDS if word in failure.reason] == []


def test_ready_v2_details_describe_the_ladder_thumbnails_and_sign_the_downloads(catalog: Catalog) -> None:
    # Given a READY video from a VideoTranscoded v2
    record_upload(upload_record(), catalog.uploads)
    record_transcoded(shapes.transcoded_v2(VIDEO_ID, chunks=3), catalog.deps)
    signer = FakeSigner()

    # When its owner asks for it
    details = video_details("alice", VIDEO_ID, DetailsDeps(catalog.store, signer=signer, clock=lambda: NOW))

    # Then the ladder and thumbnails are described, without keys, and the downloads and poster are signed
    assert details.stream is not None
    assert [(r.name, r.width, r.height, r.bandwidth, r.codecs, r.frame_rate) for r in details.stream.renditions] == [
        ("720p", 1280, 720, 3_200_000, "avc1.64001f,mp4a.40.2", 30.0),
        ("480p", 854, 480, 1_600_000, "avc1.64001f,mp4a.40.2", 30.0),
    ]
    assert (details.stream.audio, details.stream.segment_seconds, details.stream.duration_seconds) == (True, 4, 12.5)
    assert details.thumbnails is not None
    assert (details.thumbnails.interval_seconds, details.thumbnails.width, details.thumbnails.height) == (2, 160, 90)
    assert [r.name for r in details.renditions] == ["720p", "480p"] and all(r.url for r in details.renditions)
    assert sorted(key for _, key in signer.signed) == sorted(
        [f"videos/{VIDEO_ID}/720p.mp4", f"videos/{VIDEO_ID}/480p.mp4", f"videos/{VIDEO_ID}/poster.jpg"]
    )
    assert details.processing is not None and details.processing.chunks == 3
    assert details.progress is None and details.failure is None


def test_note_progress_is_conditional_on_a_lower_progress_and_a_rank_at_most_processing() -> None:
    # Given DynamoCatalog over a table that records its requests
    table = RecordingTable()

    # When progress is noted
    DynamoCatalog(table).note_progress(VIDEO_ID, 0.5, {"chunks_done": 2, "chunks_total": 4}, {"title": "clip.mp4"})

    # Then the write sets progress, PROCESSING and its rank, if the stored progress is lower and the rank at most
    # PROCESSING's (so never FAILED, READY or a tombstone, whose ranks are higher)
    (request,) = table.requests
    names, values = request["ExpressionAttributeNames"], request["ExpressionAttributeValues"]
    conditions = request["ConditionExpression"].split(" AND ")
    found = {}
    for condition in conditions:
        match = re.fullmatch(r"\(attribute_not_exists\((#a\d+)\) OR (#a\d+) (<|<=) (:v\d+)\)", condition)
        assert match and match[1] == match[2], condition
        found[names[match[1]]] = (match[3], values[match[4]])
    assert found == {"progress": ("<", Decimal("0.5")), "status_rank": ("<=", Rank.PROCESSING)}
    assert Rank.PROCESSING < Rank.FAILED < Rank.READY < Rank.DELETED
    assert _value_of(request, "status") == "PROCESSING"
    assert _assignments(request)["title"].startswith("if_not_exists(")


class FakeIndex:
    """The by-owner index over a list of items, newest first; one page."""

    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = list(items)

    def page(self, owner: str, limit: int, start: dict[str, Any] | None) -> tuple[list[VideoItem], Any]:
        mine = sorted((i for i in self.items if i["owner"] == owner), key=lambda i: i["created_at"], reverse=True)
        return [from_item(i) for i in mine[:limit]], None


def _listed(video_id: str, status: str, **values: Any) -> dict[str, Any]:
    poster = {"bucket": "out", "key": f"videos/{video_id}/poster.jpg", "width": 1280, "height": 720, "size_bytes": 9}
    return {"video_id": video_id, "owner": "alice", "created_at": f"2026-11-2{len(video_id) % 10}", "status": status,
            "title": f"{video_id}.mp4", "poster": poster} | values  # fmt: skip


def test_the_list_shows_progress_while_processing_and_a_signed_poster_once_ready() -> None:
    # Given alice's videos in every state, each with a poster in the item (a FAILED one kept an earlier poster)
    index = FakeIndex(
        _listed("uploaded1", "UPLOADED", poster=None),
        _listed("processing1", "PROCESSING", progress=Decimal("0.25"), poster=None),
        _listed(
            "ready0001",
            "READY",
            metadata=media_summary(12.5).model_dump(mode="json") | {"duration_seconds": Decimal("12.5")},
        ),
        _listed("failed01", "FAILED", progress=Decimal("0.5")),
        _listed("elsewhere1", "READY", poster={"bucket": "out", "key": "videos/someone-else/poster.jpg"}),
        _listed("deleted1", "DELETED"),
    )
    signer = FakeSigner()

    # When she lists them
    page = list_videos("alice", PageQuery(), ListDeps(index=index, signer=signer))

    # Then progress is there only while PROCESSING, a poster only once READY, signed for 15 minutes
    videos = {v.video_id: v for v in page.videos}
    assert set(videos) == {"uploaded1", "processing1", "ready0001", "failed01", "elsewhere1"}  # no tombstone
    assert {k: v.progress for k, v in videos.items()} == {k: 0.25 if k == "processing1" else None for k in videos}
    ready = videos["ready0001"]
    assert ready.poster is not None and ready.duration_seconds == 12.5
    assert ready.poster.url == "https://out.example/videos/ready0001/poster.jpg?expires=900"
    assert (ready.poster.width, ready.poster.height, ready.poster.size_bytes) == (1280, 720, 9)
    assert all(videos[k].poster is None for k in ("uploaded1", "processing1", "failed01"))
    # And a poster outside the video's own prefix is never signed
    elsewhere = videos["elsewhere1"].poster
    assert elsewhere is not None and elsewhere.url is None
    assert signer.signed == [("out", "videos/ready0001/poster.jpg")]


def _forged(start: Any) -> str:
    """A cursor as a client could make one: any JSON, base64url-encoded like the real ones."""
    return base64.urlsafe_b64encode(json.dumps(start).encode()).decode().rstrip("=")


LAST_KEY = {"video_id": "ready0001", "owner": "alice", "created_at": "2026-11-26T10:00:00.123456+00:00"}


def test_a_cursor_comes_back_as_the_key_it_was_made_of_for_its_owner_only() -> None:
    cursor = encode_cursor(LAST_KEY)
    assert cursor is not None and decode_cursor(cursor, "alice") == LAST_KEY
    assert decode_cursor(None, "alice") is None and decode_cursor("", "alice") is None
    with pytest.raises(Invalid, match="cursor"):
        decode_cursor(cursor, "bob")


@pytest.mark.parametrize(
    "start",
    [
        LAST_KEY | {"created_at": {"S": "2026-11-26"}},
        LAST_KEY | {"created_at": ["2026-11-26"]},
        LAST_KEY | {"created_at": None},
        LAST_KEY | {"created_at": True},
        LAST_KEY | {"created_at": 20261126},
        LAST_KEY | {"created_at": ""},
        LAST_KEY | {"created_at": "not a time"},
        LAST_KEY | {"created_at": "2026-11-26T10:00:00" + "0" * 1200},
        LAST_KEY | {"created_at": "2026-11-26T10:00:00." + "0" * 1200},
        LAST_KEY | {"video_id": 12345678},
        LAST_KEY | {"video_id": ""},
        LAST_KEY | {"video_id": "../../etc/passwd"},
        LAST_KEY | {"owner": ["alice"]},
        LAST_KEY | {"extra": "x"},
        ["alice"],
        "alice",
    ],
    ids=["time as object", "time as list", "time null", "time true", "time number", "time empty", "time text",
         "time too long", "time's fraction too long", "id number", "id empty", "id path", "owner list", "extra key",
         "list", "string"],
)  # fmt: skip
def test_a_forged_cursor_is_refused_as_invalid_whatever_its_values(start: Any) -> None:
    with pytest.raises(Invalid, match="invalid cursor"):
        decode_cursor(_forged(start), "alice")


@pytest.mark.parametrize(
    "raw", [b"[" * 1500, b'{"a":' * 300, b"\xff\xfe", b"{"], ids=["deep lists", "deep objects", "not UTF-8", "cut"]
)
def test_a_cursor_that_is_not_json_is_refused_as_invalid(raw: bytes) -> None:
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert len(cursor) <= PageQuery.model_fields["cursor"].metadata[0].max_length
    with pytest.raises(Invalid, match="invalid cursor"):
        decode_cursor(cursor, "alice")


def _playable(seconds: float) -> PlayablePrefix:
    return PlayablePrefix(bucket="transcoded", master=f"videos/{VIDEO_ID}/stream/t/master.m3u8", seconds=seconds,
                          duration_seconds=600)  # fmt: skip


def test_the_growing_stream_is_kept_at_its_furthest_and_each_step_is_announced(catalog: Catalog) -> None:
    # Given an uploaded video being encoded
    record_upload(upload_record(), catalog.uploads)

    # When progress comes with a growing stream that plays 6 s, then 18 s, late ones (12 s) and repeats among them
    # (a round-1 chunk's progress says nothing about it)
    reports = [(0.1, 6.0), (0.2, 18.0), (0.15, 12.0), (0.3, None), (0.3, 18.0)]
    moved = [
        record_progress(
            shapes.progress(VIDEO_ID, 1, 8, encoded=share, playable=_playable(s) if s else None), catalog.deps
        )
        for share, s in reports
    ]

    # Then the catalog kept the furthest, and told each change once, in a growing order
    assert moved == [True, True, False, True, False]
    item = catalog.item
    assert (item["progress"], item["playable_seconds"]) == (0.3, 18.0)
    assert item["early_stream"]["master"].endswith("/master.m3u8")
    changes = catalog.publisher.status_changes
    assert [(c.progress, c.playable_seconds) for c in changes][-3:] == [(0.1, 6.0), (0.2, 18.0), (0.3, 18.0)]
    assert [c.sequence for c in changes] == sorted({c.sequence for c in changes})
    # And the owner's page and library say how much plays
    details = _details(catalog)
    assert (details.playable_seconds, details.duration_seconds) == (18.0, 600)


def test_a_version_1_progress_event_still_moves_the_progress(catalog: Catalog) -> None:
    record_upload(upload_record(), catalog.uploads)
    assert record_progress(shapes.progress_v1(VIDEO_ID, 1, 4), catalog.deps)
    assert (catalog.item["progress"], catalog.item.get("playable_seconds")) == (0.25, None)
