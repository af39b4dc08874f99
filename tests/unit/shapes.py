"""Delivery shapes for tests: S3 notification records, the SNS/SQS wrappings around them, and domain events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

from contracts import (
    ChunkRef,
    FailureReason,
    PosterFile,
    RenditionFile,
    SourceObject,
    StreamPackage,
    StreamRendition,
    Thumbnails,
    VideoTranscoded,
    VideoTranscodedV1,
    VideoTranscodeFailed,
    VideoTranscodeFailedV1,
    VideoTranscodeProgress,
    VideoTranscodeProgressV1,
    stable_event_id,
)
from contracts.events import PlayablePrefix

UPLOADS_BUCKET = "uploads"

# Object keys an uploads-bucket event may name, `{id}` standing for a fresh video id (32 hex digits), with the
# owner and file name the key layout gives: None for a key outside uploads/{owner}/{video_id}/ (its id is derived).
HOSTILE_KEYS: dict[str, tuple[str, str | None, str]] = {
    "dot-dot above the owner": ("uploads/alice/../../etc/passwd.mp4", None, "passwd.mp4"),
    "dot-dot in the file name": ("uploads/alice/{id}/../../x.mp4", "alice", "../../x.mp4"),
    "leading slash": ("/uploads/alice/{id}/a.mp4", None, "a.mp4"),
    "shell substitution": ("uploads/alice/{id}/$(id).mp4", "alice", "$(id).mp4"),
    "backticks": ("uploads/alice/{id}/`id`.mp4", "alice", "`id`.mp4"),
    "leading dash": ("uploads/alice/{id}/-i x.mp4", "alice", "-i x.mp4"),
    "1024 bytes (S3's maximum)": ("uploads/alice/{id}/" + "a" * 973 + ".mp4", "alice", "a" * 973 + ".mp4"),
    "unicode": ("uploads/zoë/{id}/vidéo 日本 🎬.mov", "zoë", "vidéo 日本 🎬.mov"),
    "space, plus and percent": ("uploads/alice/{id}/my film+cut 100%.mp4", "alice", "my film+cut 100%.mp4"),
    "already percent-encoded": ("uploads/alice/{id}/a%2Bb%20c.mp4", "alice", "a%2Bb%20c.mp4"),
}


def s3_encoded(key: str) -> str:
    """A key as S3 writes it in an event notification: form-encoded (' ' is '+', '+' '%2B', '%' '%25'), '/' kept."""
    return quote_plus(key, safe="/")


def s3_record(
    key: str = "uploads/alice/vid00001/clip.mp4",
    *,
    bucket: str = UPLOADS_BUCKET,
    etag: str | None = "etag-1",
    size: int | None = 1024,
    version_id: str | None = None,
    event_name: str = "ObjectCreated:Put",
    request_id: str | None = None,
    event_time: str = "2024-05-01T12:00:00.000Z",
) -> dict[str, Any]:
    """One record shaped like moto's: no userIdentity, requestParameters, responseElements or sequencer.

    `key` is given URL-encoded, as S3 sends it.
    """
    obj: dict[str, Any] = {"key": key}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    if version_id is not None:
        obj["versionId"] = version_id
    record: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": event_time,
        "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "uploads-notification",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }
    if request_id is not None:
        record["responseElements"] = {"x-amz-request-id": request_id, "x-amz-id-2": "host-id"}
    return record


def s3_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def s3_test_event(bucket: str = UPLOADS_BUCKET) -> dict[str, Any]:
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2024-05-01T12:00:00.000Z",
        "Bucket": bucket,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }


def sns_envelope(message: str, *, topic: str = "uploads") -> dict[str, Any]:
    """The SNS envelope: what an SQS queue subscribed without raw delivery receives as its body."""
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": f"arn:aws:sns:us-east-1:123456789012:{topic}",
        "Subject": "Amazon S3 Notification",
        "Message": message,
        "Timestamp": "2024-05-01T12:00:01.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }


def lambda_sns_event(envelope: dict[str, Any]) -> dict[str, Any]:
    """The event Lambda receives when subscribed to an SNS topic directly."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{envelope['TopicArn']}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": envelope,
            }
        ]
    }


def wrappings(document: dict[str, Any]) -> dict[str, Any]:
    """Every way one message reaches a consumer, by name."""
    text = json.dumps(document)
    envelope = sns_envelope(text)
    return {
        "raw JSON string": json.dumps(document, indent=2),
        "raw JSON bytes": text.encode(),
        "dict": document,
        "SNS envelope": envelope,
        "SNS-in-SQS body": json.dumps(envelope),
        "raw-delivery SQS body": text,
        "Lambda SNS event": lambda_sns_event(envelope),
    }


# Domain events as the transcoder publishes them (models; `.model_dump(mode="json")` gives the document).

TRANSCODED_BUCKET = "transcoded"
OCCURRED_AT = datetime(2024, 5, 1, 12, 1, tzinfo=UTC)
# name, width, height, peak bits per second, frame rate: a 720p source's ladder, best first
LADDER: tuple[tuple[str, int, int, int, float | None], ...] = (
    ("720p", 1280, 720, 3_200_000, 30.0),
    ("480p", 854, 480, 1_600_000, 30.0),
)
CODECS = "avc1.64001f,mp4a.40.2"


def source_object(video_id: str, filename: str = "holiday clip.mp4", owner: str = "alice") -> SourceObject:
    return SourceObject(
        bucket=UPLOADS_BUCKET, key=f"uploads/{owner}/{video_id}/{filename}", version="etag-1", size_bytes=2_000_000
    )


def download(
    video_id: str, name: str, width: int, height: int, *, size_bytes: int = 9, bucket: str = TRANSCODED_BUCKET
) -> RenditionFile:
    """An MP4 download at its deterministic key."""
    return RenditionFile(
        name=name, bucket=bucket, key=f"videos/{video_id}/{name}.mp4", width=width, height=height, size_bytes=size_bytes
    )


def stream_package(
    video_id: str,
    *,
    ladder: Sequence[tuple[str, int, int, int, float | None]] = LADDER,
    duration: float = 12.5,
    audio: bool = True,
    codecs: str = CODECS,
    bucket: str = TRANSCODED_BUCKET,
) -> StreamPackage:
    prefix = f"videos/{video_id}/hls"
    return StreamPackage(
        bucket=bucket,
        master=f"{prefix}/master.m3u8",
        renditions=[
            StreamRendition(
                name=name,
                width=width,
                height=height,
                playlist=f"{prefix}/{name}/index.m3u8",
                bandwidth=bandwidth,
                average_bandwidth=bandwidth * 3 // 4,
                codecs=codecs,
                frame_rate=frame_rate,
            )
            for name, width, height, bandwidth, frame_rate in ladder
        ],
        audio=f"{prefix}/audio/index.m3u8" if audio else None,
        segment_seconds=4.0,
        duration_seconds=duration,
    )


def transcoded_v2(
    video_id: str,
    *,
    downloads: Sequence[RenditionFile] | None = None,
    stream: StreamPackage | None = None,
    duration: float = 12.5,
    chunks: int = 3,
    thumbnails: bool = True,
    owner: str | None = "alice",
    filename: str = "holiday clip.mp4",
    bucket: str = TRANSCODED_BUCKET,
    correlation_id: str = "REQ1",
    occurred_at: datetime = OCCURRED_AT,
) -> VideoTranscoded:
    """A VideoTranscoded v2; `downloads` None: one MP4 per rung of the stream; [] for a video too long for them."""
    stream = stream or stream_package(video_id, duration=duration, bucket=bucket)
    if downloads is None:
        downloads = [download(video_id, r.name, r.width, r.height, bucket=bucket) for r in stream.renditions]
    top = stream.renditions[0]
    return VideoTranscoded(
        event_id=stable_event_id("VideoTranscoded", video_id, "v2"),
        occurred_at=occurred_at,
        correlation_id=correlation_id,
        video_id=video_id,
        owner=owner,
        source=source_object(video_id, filename, owner or "alice"),
        duration_seconds=duration,
        stream=stream,
        renditions=list(downloads),
        poster=PosterFile(
            bucket=bucket, key=f"videos/{video_id}/poster.jpg", width=top.width, height=top.height, size_bytes=3
        ),
        thumbnails=Thumbnails(
            bucket=bucket,
            track=f"videos/{video_id}/thumbnails.vtt",
            sprites=[f"videos/{video_id}/thumbnails-0.jpg"],
            interval_seconds=2.0,
            width=160,
            height=90,
        )
        if thumbnails
        else None,
        chunks=chunks,
        started_at=occurred_at - timedelta(seconds=30),
        timings={"plan": 0.5, "encode": 20.25, "assemble": 1.5},
    )


def transcoded_v1(
    video_id: str,
    *,
    renditions: Sequence[RenditionFile] | None = None,
    owner: str | None = "alice",
    filename: str = "holiday clip.mp4",
    bucket: str = TRANSCODED_BUCKET,
    occurred_at: datetime = OCCURRED_AT,
) -> VideoTranscodedV1:
    """A VideoTranscoded as version 1 producers sent it (MP4 renditions only)."""
    if renditions is None:
        renditions = [download(video_id, name, w, h, bucket=bucket) for name, w, h, _, _ in LADDER]
    return VideoTranscodedV1(
        event_id=stable_event_id("VideoTranscoded", video_id, "v1"),
        occurred_at=occurred_at,
        correlation_id="REQ1",
        video_id=video_id,
        owner=owner,
        source=source_object(video_id, filename, owner or "alice"),
        renditions=list(renditions),
        poster=PosterFile(bucket=bucket, key=f"videos/{video_id}/poster.jpg", width=1280, height=720, size_bytes=3),
        started_at=occurred_at - timedelta(seconds=30),
        timings={"download": 0.5, "probe": 0.1, "encode": 20.25, "upload": 0.75},
    )


def progress(
    video_id: str,
    chunks_done: int,
    chunks_total: int = 4,
    *,
    owner: str | None = "alice",
    filename: str = "holiday clip.mp4",
    occurred_at: datetime = OCCURRED_AT,
    encoded: float | None = None,
    playable: PlayablePrefix | None = None,
) -> VideoTranscodeProgress:
    return VideoTranscodeProgress(
        event_id=stable_event_id("VideoTranscodeProgress", video_id, str(chunks_done), str(chunks_total)),
        occurred_at=occurred_at,
        correlation_id="REQ1",
        video_id=video_id,
        owner=owner,
        source=source_object(video_id, filename, owner or "alice"),
        chunks_done=chunks_done,
        chunks_total=chunks_total,
        encoded=encoded,
        playable=playable,
    )


def progress_v1(video_id: str, chunks_done: int, chunks_total: int = 4) -> VideoTranscodeProgressV1:
    """A progress event as the workflow sent it before version 2 (chunks only)."""
    return VideoTranscodeProgressV1(
        event_id=stable_event_id("VideoTranscodeProgress", video_id, str(chunks_done), str(chunks_total)),
        occurred_at=OCCURRED_AT,
        correlation_id="REQ1",
        video_id=video_id,
        owner="alice",
        source=source_object(video_id, "holiday clip.mp4", "alice"),
        chunks_done=chunks_done,
        chunks_total=chunks_total,
    )


# What ffmpeg says of a file it refuses (an address included): what a failure's reason said before it was a sentence
FFMPEG_WORDS = "[mpegts @ 0x33b0e340] Format not on whitelist 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm'"
# Marks of a tool's words: none is ever in what a person reads
TOOL_WORDS = ("0x", "@", "[", "]", "{", "whitelist", "ffmpeg", "ffprobe", "stderr", "chunk", "stream", "_")


def failed(
    video_id: str,
    *,
    version: int = 2,
    chunk: ChunkRef | None = None,
    filename: str = "holiday clip.mp4",
    reason: str | None = None,
) -> VideoTranscodeFailed | VideoTranscodeFailedV1:
    """A VideoTranscodeFailed (no video stream, or a chunk's encode) of either version; `reason`: its text."""
    fields: dict[str, Any] = {
        "event_id": stable_event_id("VideoTranscodeFailed", video_id, str(version)),
        "occurred_at": OCCURRED_AT,
        "correlation_id": "REQ1",
        "video_id": video_id,
        "owner": "alice",
        "source": source_object(video_id, filename),
        "reason_code": FailureReason.TRANSCODE_FAILED if chunk else FailureReason.NO_VIDEO_STREAM,
        "reason": reason or (f"chunk {chunk.index} could not be encoded" if chunk else "the file has no video stream"),
    }
    if version == 1:
        return VideoTranscodeFailedV1(**fields)
    return VideoTranscodeFailed(**fields, chunk=chunk)


def transcode_failed(video_id: str, *, version: int = 2) -> dict[str, Any]:
    """A VideoTranscodeFailed (no video stream) as the JSON document a consumer receives."""
    model = VideoTranscodeFailedV1 if version == 1 else VideoTranscodeFailed
    return model(
        correlation_id="c",
        video_id=video_id,
        owner="alice",
        source=SourceObject(bucket=UPLOADS_BUCKET, key=f"uploads/alice/{video_id}/a.mp4", version="e"),
        reason_code=FailureReason.NO_VIDEO_STREAM,
        reason="the file has no video stream",
    ).model_dump(mode="json")
