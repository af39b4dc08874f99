"""The metadata handlers against moto: DynamoDB conditional writes, SNS, partial batch failures."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from contracts import PosterFile, RenditionFile, SourceObject, VideoTranscoded, VideoTranscodeFailed
from tests.integration.conftest import Aws, Context, sqs_event
from tests.integration.pipeline import DownloadingProber, catalog_handlers, s3_upload_event

pytestmark = pytest.mark.service("metadata")


@pytest.fixture
def catalog(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    yield from catalog_handlers(aws, monkeypatch, DownloadingProber(aws.client("s3"), tmp_path))


def transcoded(aws: Aws, video_id: str, clip: Path) -> VideoTranscoded:
    bucket = aws.name("transcode", "TranscodedBucket")
    aws.client("s3").upload_file(str(clip), bucket, f"videos/{video_id}/360p.mp4")
    return VideoTranscoded(
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
    tap = aws.tap(aws.name("metadata", "CatalogEventsTopic"))
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


def test_failed_is_final_and_carries_the_reason(aws: Aws, catalog, small_clip: Path):
    # Given a video the transcoder rejected
    video_id = uuid.uuid4().hex
    failed = VideoTranscodeFailed(
        correlation_id="c",
        video_id=video_id,
        owner="alice",
        source=SourceObject(bucket="up", key=f"uploads/alice/{video_id}/x.mp4", version="e"),
        reason_code="NO_VIDEO_STREAM",
        reason="the file has no video stream",
    )
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/x.mp4")), Context())
    catalog.on_video_event(sqs_event(failed.model_dump_json()), Context())
    # When a late VideoTranscoded and a repeated upload event arrive
    catalog.on_video_event(sqs_event(transcoded(aws, video_id, small_clip).model_dump_json()), Context())
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/x.mp4")), Context())
    # Then it is still FAILED with the reason
    item = catalog.item(video_id)
    assert item["status"] == "FAILED"
    assert item["failure"] == {"code": "NO_VIDEO_STREAM", "reason": "the file has no video stream"}


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
