"""Domain events: what the services tell each other. Past tense, versioned, strict."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.keys import VIDEO_ID_RE

VideoId = Annotated[str, Field(pattern=VIDEO_ID_RE.pattern)]
_EVENT_NAMESPACE = uuid.UUID("5b0f7c1e-24c0-4e5d-9d3a-7e1d0a9c2400")


def stable_event_id(*parts: str) -> str:
    """The same facts give the same event id, so a re-published event can be recognised."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, "\x1f".join(parts)))


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DomainEvent(_Model):
    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = Field(default_factory=utc_now)
    schema_version: Literal[1] = 1
    correlation_id: str = Field(min_length=1, max_length=256)


class SourceObject(_Model):
    """The uploaded object a video was made from."""

    bucket: str
    key: str
    version: str = Field(description="Version id, else ETag: tells re-uploads of one key apart.")
    size_bytes: int | None = None


class RenditionFile(_Model):
    name: str = Field(examples=["720p"])
    bucket: str
    key: str
    width: int
    height: int
    size_bytes: int


class PosterFile(_Model):
    bucket: str
    key: str
    width: int
    height: int
    size_bytes: int


class FailureReason(StrEnum):
    EMPTY_FILE = "EMPTY_FILE"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    SOURCE_MISSING = "SOURCE_MISSING"
    UNREADABLE_MEDIA = "UNREADABLE_MEDIA"
    UNSUPPORTED_CONTAINER = "UNSUPPORTED_CONTAINER"
    NO_VIDEO_STREAM = "NO_VIDEO_STREAM"
    DURATION_TOO_LONG = "DURATION_TOO_LONG"
    RESOLUTION_TOO_HIGH = "RESOLUTION_TOO_HIGH"
    FRAME_RATE_TOO_HIGH = "FRAME_RATE_TOO_HIGH"
    TOO_MANY_STREAMS = "TOO_MANY_STREAMS"
    TRANSCODE_FAILED = "TRANSCODE_FAILED"


class VideoTranscoded(DomainEvent):
    event_type: Literal["VideoTranscoded"] = "VideoTranscoded"
    video_id: VideoId
    owner: str | None
    source: SourceObject
    renditions: list[RenditionFile] = Field(min_length=1)
    poster: PosterFile
    started_at: datetime
    timings: dict[str, float] = Field(description="Seconds spent in each transcode step.")


class VideoTranscodeFailed(DomainEvent):
    event_type: Literal["VideoTranscodeFailed"] = "VideoTranscodeFailed"
    video_id: VideoId
    owner: str | None
    source: SourceObject
    reason_code: FailureReason
    reason: str = Field(max_length=2000)


class VideoReady(DomainEvent):
    event_type: Literal["VideoReady"] = "VideoReady"
    video_id: VideoId
    owner: str | None
    title: str
    duration_seconds: float | None
    renditions: list[str] = Field(description="Rendition names, best first.")


# How long a service that keeps a tombstone of a deleted video keeps it: longer than a message can wait in
# a DLQ (14 days), so no late, duplicate or redriven event can bring the video back (checked on the templates).
TOMBSTONE_LIFETIME = timedelta(days=15)


class VideoDeleted(DomainEvent):
    """The owner deleted the video: the catalog keeps only its tombstone; each service removes what it holds."""

    event_type: Literal["VideoDeleted"] = "VideoDeleted"
    video_id: VideoId
    owner: str | None
    source: SourceObject | None = Field(description="The uploaded object, for the upload service to delete.")


AnyVideoEvent = VideoTranscoded | VideoTranscodeFailed | VideoReady | VideoDeleted
VideoEvent = Annotated[AnyVideoEvent, Field(discriminator="event_type")]
VIDEO_EVENT: TypeAdapter[AnyVideoEvent] = TypeAdapter(VideoEvent)
EVENT_TYPES: tuple[type[DomainEvent], ...] = (VideoTranscoded, VideoTranscodeFailed, VideoReady, VideoDeleted)
