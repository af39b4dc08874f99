"""Domain events: what the services tell each other. Past tense, versioned, strict."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, model_validator

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


# Version 1: MP4 renditions from one process. Still read, so messages waiting in a DLQ drain. Its schema is
# published as VideoTranscoded.v1.json: the title is the event's name and no docstring adds a description.
class VideoTranscodedV1(DomainEvent):
    model_config = ConfigDict(title="VideoTranscoded")

    event_type: Literal["VideoTranscoded"] = "VideoTranscoded"
    video_id: VideoId
    owner: str | None
    source: SourceObject
    renditions: list[RenditionFile] = Field(min_length=1)
    poster: PosterFile
    started_at: datetime
    timings: dict[str, float] = Field(description="Seconds spent in each transcode step.")


class StreamRendition(_Model):
    """One rung of the HLS ladder: its media playlist, and what a player chooses it by."""

    name: str = Field(examples=["720p"])
    width: int
    height: int
    playlist: str = Field(description="Key of the rung's media playlist, in the package's bucket.")
    bandwidth: int = Field(description="Peak bits per second over any segment, audio included.")
    average_bandwidth: int = Field(description="Average bits per second, audio included.")
    codecs: str = Field(examples=["avc1.64001f,mp4a.40.2"])
    frame_rate: float | None = None


class StreamPackage(_Model):
    """The HLS package: a master playlist over the rungs and one audio track (fMP4/CMAF segments)."""

    bucket: str
    master: str = Field(description="Key of the master playlist.")
    renditions: list[StreamRendition] = Field(min_length=1, description="Best first.")
    audio: str | None = Field(description="Key of the audio playlist; None for a silent video.")
    segment_seconds: float
    duration_seconds: float


class PlayablePrefix(_Model):
    """The growing stream of a video still being encoded: its master playlist (the same key the finished
    stream keeps) and how far from the start its media playlists reach."""

    bucket: str
    master: str = Field(description="Key of the master playlist.")
    seconds: float = Field(ge=0, description="Seconds from the start that play now (every track has them).")
    duration_seconds: float = Field(gt=0, description="The whole video's length, once encoded.")


class Thumbnails(_Model):
    """Seek-bar previews: sprite sheets of small frames, and a WebVTT track that says where each one is."""

    bucket: str
    track: str = Field(description="Key of the WebVTT file; its cues point into the sprites (#xywh=).")
    sprites: list[str] = Field(description="Keys of the sprite images.")
    interval_seconds: float
    width: int
    height: int


class ChunkRef(_Model):
    """A time range of the source that one chunk encoder works on."""

    index: int = Field(ge=0)
    start_seconds: float = Field(ge=0)
    end_seconds: float = Field(gt=0)

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> ChunkRef:
        if self.end_seconds <= self.start_seconds:
            raise ValueError(f"chunk {self.index} ends ({self.end_seconds}) before it starts ({self.start_seconds})")
        return self


class VideoTranscoded(DomainEvent):
    """Version 2: the chunked workflow's output: HLS ladder, MP4 downloads where they fit, poster, thumbnails."""

    event_type: Literal["VideoTranscoded"] = "VideoTranscoded"
    schema_version: Literal[2] = 2  # type: ignore[assignment]  # a new version of the event
    video_id: VideoId
    owner: str | None
    source: SourceObject
    duration_seconds: float
    stream: StreamPackage
    renditions: list[RenditionFile] = Field(
        description="MP4 downloads, best first: every rung whose file fits the transcoder's download limit."
    )
    poster: PosterFile
    thumbnails: Thumbnails | None = None
    chunks: int = Field(ge=1, description="How many chunks the source was encoded in.")
    started_at: datetime
    timings: dict[str, float] = Field(description="Seconds spent in each workflow stage.")


# Version 1, still read (see VideoTranscodedV1); published as VideoTranscodeFailed.v1.json.
class VideoTranscodeFailedV1(DomainEvent):
    model_config = ConfigDict(title="VideoTranscodeFailed")

    event_type: Literal["VideoTranscodeFailed"] = "VideoTranscodeFailed"
    video_id: VideoId
    owner: str | None
    source: SourceObject
    reason_code: FailureReason
    reason: str = Field(max_length=2000)


class VideoTranscodeFailed(DomainEvent):
    """Version 2: names the chunk that failed, when one did."""

    event_type: Literal["VideoTranscodeFailed"] = "VideoTranscodeFailed"
    schema_version: Literal[2] = 2  # type: ignore[assignment]  # a new version of the event
    video_id: VideoId
    owner: str | None
    source: SourceObject
    reason_code: FailureReason
    reason: str = Field(
        max_length=2000,
        description="A sentence for the uploader (contracts.readable.failure_sentence); the tool's own words are in "
        "the transcode's logs.",
    )
    chunk: ChunkRef | None = None


# Version 1, still read (see VideoTranscodedV1); published as VideoTranscodeProgress.v1.json.
class VideoTranscodeProgressV1(DomainEvent):
    model_config = ConfigDict(title="VideoTranscodeProgress")

    event_type: Literal["VideoTranscodeProgress"] = "VideoTranscodeProgress"
    video_id: VideoId
    owner: str | None
    source: SourceObject
    chunks_done: int = Field(ge=0, description="Chunks encoded so far (never more than chunks_total).")
    chunks_total: int = Field(ge=1)

    @model_validator(mode="after")
    def _done_within_total(self) -> VideoTranscodeProgressV1:
        if self.chunks_done > self.chunks_total:
            raise ValueError(f"chunks_done ({self.chunks_done}) exceeds chunks_total ({self.chunks_total})")
        return self

    @property
    def progress(self) -> float:
        """The share of the chunks encoded, 0 to 1."""
        return min(1.0, self.chunks_done / self.chunks_total)

    @property
    def playable(self) -> PlayablePrefix | None:
        return None


class VideoTranscodeProgress(DomainEvent):
    """Version 2: the share of the work (running encodes included, as ffmpeg reports them), sent at least every
    few seconds while a chunk is encoded; and how far the growing stream plays."""

    event_type: Literal["VideoTranscodeProgress"] = "VideoTranscodeProgress"
    schema_version: Literal[2] = 2  # type: ignore[assignment]  # a new version of the event
    video_id: VideoId
    owner: str | None
    source: SourceObject
    chunks_done: int = Field(ge=0, description="Chunk encodes finished so far (never more than chunks_total).")
    chunks_total: int = Field(ge=1, description="Chunk encodes in all (a chunk may be encoded in several passes).")
    encoded: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Share of the encoding work done, 0 to 1, counting the encodes still running as far as ffmpeg "
        "says they are; None: only the finished ones count (chunks_done / chunks_total).",
    )
    playable: PlayablePrefix | None = Field(
        None, description="The stream that plays already, while the rest is encoded; None until its start is stored."
    )

    @model_validator(mode="after")
    def _done_within_total(self) -> VideoTranscodeProgress:
        if self.chunks_done > self.chunks_total:
            raise ValueError(f"chunks_done ({self.chunks_done}) exceeds chunks_total ({self.chunks_total})")
        return self

    @property
    def progress(self) -> float:
        """The share of the encoding done, 0 to 1."""
        if self.encoded is not None:
            return self.encoded
        return min(1.0, self.chunks_done / self.chunks_total)


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


class VideoStatus(StrEnum):
    """A video's status in the catalog."""

    UPLOADED = "UPLOADED"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"
    DELETED = "DELETED"


PLAYABLE_STEPS = 10**6  # tenths of a second: more than the longest video (MAX_DURATION 4 h is 144,000)


def status_sequence(rank: int, progress: float | None, playable_seconds: float | None = None) -> int:
    """The order of a video's changes as one integer: the catalog's conditional writes only raise the status rank,
    and within PROCESSING only raise the progress (kept to 4 decimals) and the playable seconds, so (rank,
    progress, playable) never goes back; this packs it (no progress < any progress), and it grows when any of
    the three does."""
    progress_step = round(progress * 10_000) + 1 if progress is not None else 0
    playable_step = min(PLAYABLE_STEPS - 1, round(playable_seconds * 10)) if playable_seconds else 0
    return (rank * 100_000 + progress_step) * PLAYABLE_STEPS + playable_step


# Version 1, still read (see VideoTranscodedV1); published as VideoStatusChanged.v1.json.
class VideoStatusChangedV1(DomainEvent):
    model_config = ConfigDict(title="VideoStatusChanged")

    event_type: Literal["VideoStatusChanged"] = "VideoStatusChanged"
    video_id: VideoId
    owner: str | None
    status: VideoStatus
    rank: int = Field(ge=1, le=9, description="The catalog's status rank: a status only moves to a higher rank.")
    progress: float | None = Field(ge=0, le=1, description="Share of the chunks encoded, only while PROCESSING.")
    reason: str | None = Field(
        max_length=2000, description="Why it FAILED: a sentence for the uploader, about their video; None otherwise."
    )
    title: str | None
    sequence: int = Field(ge=0, description="Grows with every change of this video: status_sequence(rank, progress).")

    @property
    def playable_seconds(self) -> float | None:
        return None


class VideoStatusChanged(DomainEvent):
    """Version 2: with how far a video being encoded plays. The catalog changed a video's status or progress
    (published once per change; a duplicate input changes nothing and publishes nothing, a retried publish
    repeats the same event_id).

    Order a video's changes by `sequence` (not `occurred_at`: it comes from the clocks of different functions).
    """

    event_type: Literal["VideoStatusChanged"] = "VideoStatusChanged"
    schema_version: Literal[2] = 2  # type: ignore[assignment]  # a new version of the event
    video_id: VideoId
    owner: str | None
    status: VideoStatus
    rank: int = Field(ge=1, le=9, description="The catalog's status rank: a status only moves to a higher rank.")
    progress: float | None = Field(ge=0, le=1, description="Share of the encoding done, only while PROCESSING.")
    reason: str | None = Field(
        max_length=2000, description="Why it FAILED: a sentence for the uploader, about their video; None otherwise."
    )
    title: str | None
    sequence: int = Field(
        ge=0,
        description="Grows with every change of this video: status_sequence(rank, progress, playable_seconds).",
    )
    playable_seconds: float | None = Field(
        None, ge=0, description="While PROCESSING, seconds from the start that play already (GET /videos/{id})."
    )


class MailPreferenceChanged(DomainEvent):
    """A user turned the e-mail about their videos on or off (PUT /me), published by the auth service.

    `email` is the address their verified token gave, None when it gave none (mail is then off). Apply a
    user's changes by `version` only: each PUT raises it, so a late or repeated event never undoes a newer one.
    """

    event_type: Literal["MailPreferenceChanged"] = "MailPreferenceChanged"
    sub: str = Field(min_length=1)
    email: str | None = Field(max_length=320)
    enabled: bool = Field(description="Mail the user when one of their videos is READY or FAILED.")
    version: int = Field(ge=1, description="Grows with every change of this user's preference.")


class UploadStarted(DomainEvent):
    """Someone asked to upload a video (POST /uploads), published by the upload service before it answers.

    `title` is the file name exactly as they typed it (Unicode kept): the video's title until its owner chooses
    another. The upload key holds a made-safe copy of the name; the two are never mixed up. An upload that never
    arrives leaves only this title behind.
    """

    event_type: Literal["UploadStarted"] = "UploadStarted"
    video_id: VideoId
    owner: str = Field(min_length=1)
    title: str = Field(min_length=1, max_length=255)


class DisplayNameChanged(DomainEvent):
    """A user chose (or cleared) the name others see them by (PUT /me), published by the auth service.

    The only thing the public pages show of a video's owner. Apply a user's changes by `version` only.
    """

    event_type: Literal["DisplayNameChanged"] = "DisplayNameChanged"
    sub: str = Field(min_length=1)
    display_name: str | None = Field(max_length=64, description="None: cleared (public pages show no name).")
    version: int = Field(ge=1, description="Grows with every change of this user's display name.")


AnyVideoEvent = (
    VideoTranscoded
    | VideoTranscodedV1
    | VideoTranscodeFailed
    | VideoTranscodeFailedV1
    | VideoTranscodeProgress
    | VideoTranscodeProgressV1
    | VideoReady
    | VideoDeleted
    | VideoStatusChanged
    | VideoStatusChangedV1
    | MailPreferenceChanged
    | UploadStarted
    | DisplayNameChanged
)
EVENT_TYPES: tuple[type[DomainEvent], ...] = (
    VideoTranscoded,
    VideoTranscodedV1,
    VideoTranscodeFailed,
    VideoTranscodeFailedV1,
    VideoTranscodeProgress,
    VideoTranscodeProgressV1,
    VideoReady,
    VideoDeleted,
    VideoStatusChanged,
    VideoStatusChangedV1,
    MailPreferenceChanged,
    UploadStarted,
    DisplayNameChanged,
)


def _tag(event_type: object, version: object) -> str:
    return f"{event_type}/v{version}"


def _event_tag(value: object) -> str:
    """Which model reads a message: its event type and schema version (1 when it does not say)."""
    if isinstance(value, dict):
        return _tag(value.get("event_type"), value.get("schema_version", 1))
    return _tag(getattr(value, "event_type", None), getattr(value, "schema_version", 1))


VideoEvent = Annotated[
    Annotated[VideoTranscoded, Tag("VideoTranscoded/v2")]
    | Annotated[VideoTranscodedV1, Tag("VideoTranscoded/v1")]
    | Annotated[VideoTranscodeFailed, Tag("VideoTranscodeFailed/v2")]
    | Annotated[VideoTranscodeFailedV1, Tag("VideoTranscodeFailed/v1")]
    | Annotated[VideoTranscodeProgress, Tag("VideoTranscodeProgress/v2")]
    | Annotated[VideoTranscodeProgressV1, Tag("VideoTranscodeProgress/v1")]
    | Annotated[VideoReady, Tag("VideoReady/v1")]
    | Annotated[VideoDeleted, Tag("VideoDeleted/v1")]
    | Annotated[VideoStatusChanged, Tag("VideoStatusChanged/v2")]
    | Annotated[VideoStatusChangedV1, Tag("VideoStatusChanged/v1")]
    | Annotated[MailPreferenceChanged, Tag("MailPreferenceChanged/v1")]
    | Annotated[UploadStarted, Tag("UploadStarted/v1")]
    | Annotated[DisplayNameChanged, Tag("DisplayNameChanged/v1")],
    Discriminator(_event_tag),
]
VIDEO_EVENT: TypeAdapter[AnyVideoEvent] = TypeAdapter(VideoEvent)
