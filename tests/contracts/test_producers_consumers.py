"""Every producer's sample opens in every consumer, in every wrapping it is delivered in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog.logic.records import CatalogDeps, record_transcoded
from contracts import (
    DomainEvent,
    S3EventRecord,
    VideoReady,
    VideoTranscoded,
    VideoTranscodeFailed,
    open_s3_event,
    open_video_event,
    upload_of,
)
from contracts.delivery import sns_message
from contracts.media import Probe
from tests.unit.fakes import FakeCatalog, FakeMedia, FakeProber, FakePublisher, FakeStorage, FakeTombstones
from tests.unit.shapes import s3_record, sns_envelope
from transcode.logic.transcode import TranscodeConfig, TranscodeDeps, transcode_upload

KEY = "uploads/alice/vid00001/my holiday vidéo.mp4"
ENCODED_KEY = "uploads/alice/vid00001/my+holiday+vid%C3%A9o.mp4"
MOTO_ENCODED_KEY = "uploads%2Falice%2Fvid00001%2Fmy+holiday+vid%C3%A9o.mp4"


def _probe(streams: list[dict]) -> Probe:
    fmt = {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "4.000000"}
    return Probe.model_validate({"format": fmt, "streams": [{"index": i, **s} for i, s in enumerate(streams)]})


VIDEO = {"codec_type": "video", "codec_name": "h264", "width": 1280, "height": 720, "avg_frame_rate": "25/1"}
AUDIO = {"codec_type": "audio", "codec_name": "aac"}


def _transcoder_output(tmp_path: Path, probe: Probe) -> DomainEvent:
    """What the transcode logic publishes for one upload (through the fakes)."""
    record = s3_record(ENCODED_KEY, etag="etag-1", size=5)
    storage = FakeStorage({("uploads", KEY): b"video"})
    publisher = FakePublisher()
    config = TranscodeConfig(uploads_bucket="uploads", output_bucket="transcoded", work_dir=tmp_path)
    deps = TranscodeDeps(storage, publisher, FakeMedia(probe), FakeTombstones(), config)
    transcode_upload(upload_of(S3EventRecord.model_validate(record)), deps)
    (event,) = publisher.published
    return event


def _catalog_output(transcoded: VideoTranscoded) -> DomainEvent:
    publisher = FakePublisher()
    deps = CatalogDeps(store=FakeCatalog(), prober=FakeProber(), publisher=publisher)
    record_transcoded(transcoded, deps)
    (event,) = publisher.published
    return event


@pytest.fixture
def produced(tmp_path: Path) -> dict[str, DomainEvent]:
    transcoded = _transcoder_output(tmp_path / "ok", _probe([VIDEO, AUDIO]))
    failed = _transcoder_output(tmp_path / "bad", _probe([AUDIO]))
    assert isinstance(transcoded, VideoTranscoded) and isinstance(failed, VideoTranscodeFailed)
    return {"VideoTranscoded": transcoded, "VideoTranscodeFailed": failed, "VideoReady": _catalog_output(transcoded)}


DELIVERIES = {
    "SNS raw delivery (SQS body = message)": lambda message: message,
    "SNS envelope (SQS body = envelope)": lambda message: json.dumps(sns_envelope(message, topic="video-events")),
}


@pytest.mark.parametrize("delivery", list(DELIVERIES))
@pytest.mark.parametrize("event_type", ["VideoTranscoded", "VideoTranscodeFailed", "VideoReady"])
def test_domain_events_open_in_their_consumers(
    produced: dict[str, DomainEvent], event_type: str, delivery: str
) -> None:
    # Given an event as its producer publishes it to SNS
    event = produced[event_type]
    assert event.event_type == event_type
    body = DELIVERIES[delivery](sns_message(event)["Message"])

    # When a consumer opens the SQS body
    opened = open_video_event(body)

    # Then it gets an equal model
    assert type(opened) is type(event)
    assert opened == event


def test_the_published_video_ready_is_the_one_the_catalog_returns(produced: dict[str, DomainEvent]) -> None:
    # Given the catalog's VideoReady
    ready = produced["VideoReady"]

    # When it is opened from the wire
    opened = open_video_event(sns_message(ready)["Message"])

    # Then it names the video the transcoder produced
    assert isinstance(opened, VideoReady)
    assert opened.video_id == produced["VideoTranscoded"].video_id == "vid00001"
    assert opened.title == "my holiday vidéo.mp4"


MOTO_BODY = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2024-05-01T12:00:00.123Z",
            "eventName": "ObjectCreated:Put",
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "uploads",
                "bucket": {"name": "uploads", "arn": "arn:aws:s3:::uploads"},
                "object": {"key": MOTO_ENCODED_KEY, "size": 5, "eTag": "d41d8cd98f00b204e9800998ecf8427e"},
            },
        }
    ]
}

AWS_BODY = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2024-05-01T12:00:00.123Z",
            "eventName": "ObjectCreated:CompleteMultipartUpload",
            "userIdentity": {"principalId": "AWS:AIDAJDPLRKLG7UEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.7"},
            "responseElements": {
                "x-amz-request-id": "C3D13FE58DE4C810",
                "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "uploads",
                "bucket": {
                    "name": "uploads",
                    "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                    "arn": "arn:aws:s3:::uploads",
                },
                "object": {
                    "key": ENCODED_KEY,
                    "size": 5,
                    "eTag": "d41d8cd98f00b204e9800998ecf8427e-2",
                    "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
                    "sequencer": "0055AED6DCD90281E5",
                },
            },
        }
    ]
}


@pytest.mark.parametrize("wrapped", [False, True], ids=["raw", "in SNS envelope"])
@pytest.mark.parametrize("body", [MOTO_BODY, AWS_BODY], ids=["moto", "aws"])
def test_s3_events_open_with_the_decoded_key(body: dict, wrapped: bool) -> None:
    # Given an S3 notification body, as moto or as AWS sends it, maybe inside the uploads topic's envelope
    message = json.dumps(body)
    if wrapped:
        message = json.dumps(sns_envelope(message))

    # When an upload consumer opens it
    event = open_s3_event(message)

    # Then its record names the real object key, created in the uploads bucket
    assert event is not None
    (record,) = event.records
    assert record.key == KEY
    assert record.bucket == "uploads"
    assert record.is_object_created
    assert record.event_time == datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
