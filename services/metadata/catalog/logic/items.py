"""A catalog item as the logic reads it: one video's stored facts, typed.

The store reads its table into a `VideoItem` (catalog.adapters.dynamo.from_item: numbers are plain ints and
floats by then); whatever an item written by an older version lacks gets its default. Writes keep naming the
stored attributes (see ports.CatalogStore), so their conditions stay what they were.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from catalog.logic.ports import Rank, Status
from contracts import SourceObject, StreamPackage, Thumbnails
from contracts.api import FailedChunk, Visibility
from contracts.media import MediaSummary


class _Stored(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StoredFile(_Stored):
    """One of the video's files: the poster, or (named, with what ffprobe read from it) an MP4 download."""

    bucket: str
    key: str
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None


class Download(StoredFile):
    name: str
    metadata: MediaSummary | None = None


class StoredFailure(_Stored):
    """Why the transcoder gave up: its code (and the chunk); `reason` is the event's own text, for logs only."""

    code: str | None = None
    reason: str | None = None
    chunk: FailedChunk | None = None


class EarlyStream(_Stored):
    """The growing stream of a video being encoded: its master playlist (the key the finished one keeps)."""

    bucket: str
    master: str
    duration_seconds: float | None = None  # the whole video's


class TranscodeRun(_Stored):
    started_at: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)


class VideoItem(_Stored):
    """Everything the catalog keeps about one video; timestamps stay the ISO strings it stored."""

    video_id: str
    owner: str | None = None
    status: Status | None = None
    status_rank: int | None = None
    # set by whichever event came first; then by UploadStarted (the name as typed), then by the owner
    title: str | None = None
    title_rank: int | None = None  # who set the title (sharing.TitleRank): a lower one never overwrites it
    description: str = ""
    # sharing (PATCH /videos/{id})
    visibility: Visibility = Visibility.PRIVATE
    share_key: str | None = None  # the random part of its share id: kept while private, so a re-share revives it
    views: int = 0  # playback sessions that started (logic/audience.py)
    created_at: str | None = None
    correlation_id: str | None = None
    # the newest write of the upload key
    source: SourceObject | None = None
    uploaded_at: str | None = None
    upload_sequence: str | None = None
    # PROCESSING
    progress: float | None = None
    chunks_done: int | None = None
    chunks_total: int | None = None
    progress_at: str | None = None
    playable_seconds: float | None = None  # how far the growing stream plays
    early_stream: EarlyStream | None = None  # where it is
    # FAILED
    failure: StoredFailure | None = None
    failed_at: str | None = None
    # READY
    transcoded_at: str | None = None
    transcode: TranscodeRun | None = None
    renditions: tuple[Download, ...] = ()
    poster: StoredFile | None = None
    metadata: MediaSummary | None = None
    stream: StreamPackage | None = None
    thumbnails: Thumbnails | None = None
    chunks: int | None = None
    duration_seconds: float | None = None
    ready_at: str | None = None
    metadata_seconds: float | None = None
    ready_event_id: str | None = None
    ready_published: bool = False
    # what the subscribers were told last
    announced_sequence: int | None = None
    # a tombstone
    deleted_at: str | None = None
    expires_at: int | None = None  # epoch seconds: DynamoDB's TTL

    @property
    def rank(self) -> int:
        """The stored rank; an item that has none ranks as its status does."""
        if self.status_rank:
            return self.status_rank
        return int(Rank[self.status.name]) if self.status else 0

    @property
    def deleted(self) -> bool:
        return self.status == Status.DELETED

    @property
    def share_id(self) -> str | None:
        """The id of its share page while anyone may watch it (unlisted or public); None while private."""
        if self.visibility == Visibility.PRIVATE or not self.share_key:
            return None
        return self.share_key + self.video_id
