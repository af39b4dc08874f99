"""The metadata handlers against moto: DynamoDB conditional writes, SNS, partial batch failures."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from contracts import (
    ChunkRef,
    PosterFile,
    RenditionFile,
    SourceObject,
    VideoTranscoded,
    VideoTranscodedV1,
    VideoTranscodeFailed,
)
from tests.integration.conftest import ANNOUNCEMENTS, Aws, Context, sqs_event
from tests.integration.pipeline import ALL_DONE, DownloadingProber, catalog_handlers, s3_upload_event
from tests.unit import shapes

pytestmark = pytest.mark.service("metadata")


@pytest.fixture
def catalog(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    yield from catalog_handlers(aws, monkeypatch, DownloadingProber(aws.client("s3"), tmp_path))


def transcoded(aws: Aws, video_id: str, clip: Path) -> VideoTranscodedV1:
    """A version 1 VideoTranscoded (one MP4, in the transcoded bucket), as messages left in a DLQ carry it."""
    bucket = aws.name("transcode", "TranscodedBucket")
    aws.client("s3").upload_file(str(clip), bucket, f"videos/{video_id}/360p.mp4")
    return VideoTranscodedV1(
        correlation_id="c-1",
        video_id=video_id,
        owner="alice",
        source=SourceObject(bucket="up", key=f"uploads/alice/{video_id}/a b.mp4", version="abc123", size_bytes=1000),
        renditions=[
            RenditionFile(
                name="360p",
                bucket=bucket,
                key=f"videos/{video_id}/360p.mp4",
                width=640,
                height=360,
                size_bytes=clip.stat().st_size,
            )
        ],
        poster=PosterFile(bucket=bucket, key=f"videos/{video_id}/poster.jpg", width=640, height=360, size_bytes=10),
        started_at=datetime(2026, 11, 26, 10, 0, 1, tzinfo=UTC),
        timings={"encode": 1.0},
    )


def test_upload_event_creates_one_uploaded_item_however_often_it_arrives(aws: Aws, catalog):
    # Given an upload event for a key with a space
    video_id = uuid.uuid4().hex
    body = s3_upload_event(aws, f"uploads/alice/{video_id}/my film.mov")
    # When it is delivered three times
    for _ in range(3):
        assert catalog.on_upload(sqs_event(body), Context()) == {"batchItemFailures": []}
    # Then there is one item, UPLOADED, with owner, title and source
    item = catalog.item(video_id)
    assert catalog.count() == 1
    assert (item["status"], item["owner"], item["title"]) == ("UPLOADED", "alice", "my film.mov")
    assert item["source"]["key"] == f"uploads/alice/{video_id}/my film.mov"


def test_transcoded_makes_ready_with_rendition_metadata_and_announces_once(aws: Aws, catalog, small_clip: Path):
    # Given an uploaded video and its VideoTranscoded event
    tap = aws.tap(aws.name("metadata", "CatalogEventsTopic"), event_types=ANNOUNCEMENTS)
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/a b.mp4")), Context())
    event = transcoded(aws, video_id, small_clip)

    # When VideoTranscoded arrives three times
    for _ in range(3):
        assert catalog.on_video_event(sqs_event(event.model_dump_json()), Context()) == {"batchItemFailures": []}

    # Then the item is READY with each rendition's ffprobe metadata, and VideoReady went out once
    item = catalog.item(video_id)
    assert item["status"] == "READY" and item["ready_published"] is True
    meta = item["renditions"][0]["metadata"]
    assert (meta["video"]["codec"], meta["video"]["width"], meta["video"]["height"]) == ("h264", 640, 360)
    assert meta["audio"]["codec"] == "aac" and meta["audio"]["channels"] >= 1 and meta["audio"]["sample_rate"] > 0
    assert meta["duration_seconds"] == pytest.approx(2, abs=0.2) and meta["video"]["fps"] == 25
    assert catalog.probes.calls == 1  # duplicates do no work
    announced = aws.drain(tap)
    assert [(e["event_type"], e["video_id"]) for e in announced] == [("VideoReady", video_id)]


def test_out_of_order_transcoded_before_uploaded_still_ends_ready(aws: Aws, catalog, small_clip: Path):
    # Given VideoTranscoded arrives before the upload event
    video_id = uuid.uuid4().hex
    catalog.on_video_event(sqs_event(transcoded(aws, video_id, small_clip).model_dump_json()), Context())
    # When the (late) upload event arrives
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/a b.mp4")), Context())
    # Then the video stays READY, and the upload's facts are there
    item = catalog.item(video_id)
    assert (item["status"], item["owner"], item["title"], item["uploaded_at"][:4]) == (
        "READY",
        "alice",
        "a b.mp4",
        "2026",
    )


def failed(video_id: str, chunk: ChunkRef | None = None) -> VideoTranscodeFailed:
    return VideoTranscodeFailed(
        correlation_id="c",
        video_id=video_id,
        owner="alice",
        source=SourceObject(bucket="up", key=f"uploads/alice/{video_id}/a b.mp4", version="e"),
        reason_code="TRANSCODE_FAILED" if chunk else "NO_VIDEO_STREAM",
        reason="a chunk could not be encoded" if chunk else "the file has no video stream",
        chunk=chunk,
    )


def transcoded_v2(aws: Aws, video_id: str, clip: Path | None) -> VideoTranscoded:
    """A VideoTranscoded v2 of a 360p ladder; with a clip, its MP4 download (in the transcoded bucket), else none."""
    bucket = aws.name("transcode", "TranscodedBucket")
    stream = shapes.stream_package(video_id, ladder=[("360p", 640, 360, 900_000, 25.0)], duration=2.0, bucket=bucket)
    downloads = []
    if clip is not None:
        aws.client("s3").upload_file(str(clip), bucket, f"videos/{video_id}/360p.mp4")
        downloads = [shapes.download(video_id, "360p", 640, 360, size_bytes=clip.stat().st_size, bucket=bucket)]
    return shapes.transcoded_v2(
        video_id, stream=stream, downloads=downloads, duration=2.0, chunks=1, filename="a b.mp4", bucket=bucket
    )


def progress(video_id: str, done: int, total: int = 4) -> str:
    return shapes.progress(video_id, done, total, filename="a b.mp4").model_dump_json()


def test_a_failure_is_kept_with_its_chunk_and_a_repeated_upload_event_changes_nothing(aws: Aws, catalog):
    # Given a video whose workflow failed on a chunk
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/a b.mp4")), Context())
    event = failed(video_id, ChunkRef(index=3, start_seconds=12.0, end_seconds=16.0))
    assert catalog.on_video_event(sqs_event(event.model_dump_json()), Context()) == ALL_DONE
    # When the failure and the upload event arrive again, and late progress
    catalog.on_video_event(sqs_event(event.model_dump_json(), progress(video_id, 4, 4)), Context())
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/a b.mp4")), Context())
    # Then it is still FAILED with the reason and the chunk
    item = catalog.item(video_id)
    assert item["status"] == "FAILED" and "progress" not in item
    assert item["failure"] == {
        "code": "TRANSCODE_FAILED",
        "reason": "a chunk could not be encoded",
        "chunk": {"index": 3, "start_seconds": 12.0, "end_seconds": 16.0},
    }


def test_failed_then_transcoded_ends_ready_with_one_announcement(aws: Aws, catalog, small_clip: Path):
    # Given a video the transcoder gave up on
    tap = aws.tap(aws.name("metadata", "CatalogEventsTopic"), event_types=ANNOUNCEMENTS)
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/a b.mp4")), Context())
    catalog.on_video_event(
        sqs_event(failed(video_id, ChunkRef(index=0, start_seconds=0, end_seconds=2)).model_dump_json()), Context()
    )
    assert catalog.item(video_id)["status"] == "FAILED"

    # When its redriven workflow succeeds: VideoTranscoded arrives (twice), then a late failure
    event = transcoded_v2(aws, video_id, small_clip)
    for _ in range(2):
        assert catalog.on_video_event(sqs_event(event.model_dump_json()), Context()) == ALL_DONE
    catalog.on_video_event(sqs_event(failed(video_id).model_dump_json()), Context())

    # Then it is READY, and VideoReady went out once
    item = catalog.item(video_id)
    assert (item["status"], item["ready_published"]) == ("READY", True)
    announced = aws.drain(tap)
    assert [(e["event_type"], e["video_id"], e["renditions"]) for e in announced] == [
        ("VideoReady", video_id, ["360p"])
    ]


def test_progress_only_increases_and_moves_an_upload_to_processing(aws: Aws, catalog):
    # Given an uploaded video
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/a b.mp4")), Context())

    # When progress arrives out of order, some of it repeated, in two batches
    assert catalog.on_video_event(sqs_event(progress(video_id, 1), progress(video_id, 3)), Context()) == ALL_DONE
    assert catalog.on_video_event(sqs_event(progress(video_id, 2), progress(video_id, 3)), Context()) == ALL_DONE

    # Then it is PROCESSING at the highest progress seen, with the upload's facts kept
    item = catalog.item(video_id)
    assert (item["status"], item["progress"], item["chunks_done"], item["chunks_total"]) == ("PROCESSING", 0.75, 3, 4)
    assert (item["owner"], item["title"]) == ("alice", "a b.mp4")


def test_progress_after_ready_is_ignored(aws: Aws, catalog, small_clip: Path):
    # Given a READY video
    video_id = uuid.uuid4().hex
    catalog.on_video_event(sqs_event(progress(video_id, 1)), Context())
    catalog.on_video_event(sqs_event(transcoded_v2(aws, video_id, small_clip).model_dump_json()), Context())
    before = catalog.item(video_id)
    assert before["status"] == "READY"

    # When late progress events arrive
    assert catalog.on_video_event(sqs_event(progress(video_id, 2), progress(video_id, 4)), Context()) == ALL_DONE

    # Then nothing changed
    assert catalog.item(video_id) == before


def test_v2_with_a_download_is_ready_with_its_probe_and_the_stream_and_duplicates_do_nothing(
    aws: Aws, catalog, small_clip: Path
):
    # Given an uploaded video and its VideoTranscoded v2 with one MP4 download
    tap = aws.tap(aws.name("metadata", "CatalogEventsTopic"), event_types=ANNOUNCEMENTS)
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/a b.mp4")), Context())
    event = transcoded_v2(aws, video_id, small_clip)

    # When it arrives three times
    for _ in range(3):
        assert catalog.on_video_event(sqs_event(event.model_dump_json()), Context()) == ALL_DONE

    # Then the download was probed once, the item holds the stream, and VideoReady went out once
    assert catalog.probes.calls == 1
    item = catalog.item(video_id)
    assert item["status"] == "READY" and item["metadata"]["video"]["codec"] == "h264"
    assert item["stream"]["master"] == f"videos/{video_id}/hls/master.m3u8"
    assert [r["name"] for r in item["stream"]["renditions"]] == ["360p"]
    assert (item["chunks"], item["duration_seconds"]) == (1, 2.0)
    announced = aws.drain(tap)
    assert [(e["event_type"], e["duration_seconds"]) for e in announced] == [("VideoReady", 2.0)]


def test_v2_without_downloads_is_ready_with_metadata_from_the_event(aws: Aws, catalog):
    # Given an uploaded long video whose VideoTranscoded v2 has no MP4 download
    tap = aws.tap(aws.name("metadata", "CatalogEventsTopic"), event_types=ANNOUNCEMENTS)
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/a b.mp4")), Context())

    # When it arrives (twice)
    for _ in range(2):
        body = transcoded_v2(aws, video_id, None).model_dump_json()
        assert catalog.on_video_event(sqs_event(body), Context()) == ALL_DONE

    # Then nothing was probed, and the video is READY with the top rung's facts as its metadata
    assert catalog.probes.calls == 0
    item = catalog.item(video_id)
    assert (item["status"], item["renditions"]) == ("READY", [])
    meta = item["metadata"]
    assert (meta["container"], meta["duration_seconds"]) == ("hls", 2.0)
    assert (meta["video"]["codec"], meta["video"]["width"], meta["video"]["height"], meta["video"]["fps"]) == (
        "h264",
        640,
        360,
        25.0,
    )
    assert meta["audio"]["codec"] == "aac"
    assert [e["renditions"] for e in aws.drain(tap)] == [["360p"]]


def test_a_malformed_message_fails_alone(aws: Aws, catalog):
    # Given a batch with two good upload events around a malformed one and an unknown event type
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    batch = sqs_event(
        s3_upload_event(aws, f"uploads/alice/{first}/1.mp4"),
        '{"Records": "not a list"}',
        s3_upload_event(aws, f"uploads/bob/{second}/2.mp4"),
    )
    # When the handler takes the batch
    result = catalog.on_upload(batch, Context())
    # Then only the malformed message is reported failed, and both good ones are recorded
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert catalog.item(first)["status"] == catalog.item(second)["status"] == "UPLOADED"
    # And a batch whose only message is bad fails as a whole (Powertools raises), which SQS retries alike
    bad_event = sqs_event(json.dumps({"event_type": "VideoExploded", "video_id": first}))
    with pytest.raises(BatchProcessingError):
        catalog.on_video_event(bad_event, Context())
