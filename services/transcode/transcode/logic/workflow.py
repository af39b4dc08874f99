"""The transcode workflow: what travels between its steps (the plan), their collaborators, and what they share.

The steps are `encoding.py` (plan, chunk, audio) and `assembly.py` (assemble, fail); `tasks.py` says which
step a task message of the state machine (services/transcode/serverless.yml) runs. In order:

    start ─▶ plan ─▶ ┬─ first chunk ─▶ chunk x N x rounds (a Map) ─┬─▶ assemble   (publishes VideoTranscoded)
                     └─ audio (once, beside them) ─────────────────┘
             any step that fails for good ─▶ fail (publishes VideoTranscodeFailed, names the chunk)

Round 0 of the chunks (the lowest rung) and the audio, stored piece by piece, make the growing stream that
plays while the rest is encoded (`growing.py`); `assemble` turns its playlists into the finished ones.

Each task gets its input as the state machine passes it and returns a small JSON result:
`done` (or `planned`, `published`), `skipped` (with the `reason`) or `failed` (with the
`failure`, whose `retryable` says whether another try may pass). A task never raises for a
failure it understands; the task handler answers a `failed` result as the task's failure
(logic/tasks.py: an error name the state machine's Retry and Catch match, the failure as its
cause). An exception means a fault of the worker itself, which the state machine retries too.

Every output key is deterministic, under the video's folder and a tag of the upload's
version, so a retried or redriven task overwrites instead of duplicating, and two
versions of one key never mix. A chunk whose output is complete is not encoded again.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts import FailureReason, Upload
from contracts.events import (
    ChunkRef,
    VideoTranscoded,
    VideoTranscodeFailed,
    utc_now,
)
from contracts.keys import manifest_key, video_prefix
from lambdakit.metrics import Meter, NoMeter
from transcode.logic import hls
from transcode.logic.chunking import Grid
from transcode.logic.gate import GateLimits
from transcode.logic.ladder import Rendition
from transcode.logic.picture import AS_IS, Picture
from transcode.logic.ports import MediaTool, Publisher, Storage, Tombstones
from transcode.logic.subtitles import SubtitleTrack

# --- What travels between the steps -------------------------------------------------------------------


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rung(_Step):
    name: str
    width: int
    height: int
    max_video_kbps: int

    def rendition(self) -> Rendition:
        return Rendition(self.name, self.width, self.height, self.max_video_kbps)


class Work(_Step):
    """One item of the chunk Map: a chunk, encoded in the rungs of one round."""

    chunk: ChunkRef
    round: int = 0


class Plan(_Step):
    """What the plan step decided; every later step works from it."""

    upload: Upload
    tag: str  # the folder of this version's stream, under the video's
    demuxer: str
    width: int
    height: int
    video_seconds: float
    frame_rate: float | None
    timescale: int
    has_audio: bool
    rungs: list[Rung]
    chunks: list[ChunkRef]
    segment_seconds: int
    keyframe_seconds: int
    chunk_seconds: int
    thumbnail_seconds: int
    poster_at: float
    concurrency: int  # chunks encoded at once (the Map's MaxConcurrencyPath)
    started_at: datetime
    planned_at: datetime
    # (defaults: plans made before these existed still parse)
    picture: Picture = AS_IS  # what each frame needs before scaling
    video_offset: float = 0.0  # where the picture starts on the timeline (after the sound)
    subtitles: list[SubtitleTrack] = []  # the text tracks carried out as WebVTT (logic/subtitles.py)
    retry_seconds: list[int] = []  # unread: the workflow's Retry waits now (kept so plans in flight still parse)
    # The rungs each round encodes over the whole video, first to last: round 0 (the lowest rung) is the
    # growing stream people watch while the rest is encoded (logic/growing.py). [] (plans made before): one
    # round of every rung.
    rounds: list[list[str]] = []
    work: list[Work] = []  # every chunk of round 0, then of round 1: what the workflow encodes, in this order
    # The growing stream's first item (chunk 0 of round 0) is encoded alone before the Map, so that it never
    # waits behind another chunk for a worker; the Map's items are the `later` ones. (None: all in the Map.)
    first: Work | None = None
    later: list[Work] = []
    growing: bool = False  # whether round 0 and the audio publish the growing stream

    def rungs_of(self, round_index: int) -> list[Rung]:
        names = self.rounds[round_index] if self.rounds else [r.name for r in self.rungs]
        return [r for r in self.rungs if r.name in names]

    @property
    def round_count(self) -> int:
        return len(self.rounds) or 1

    def round_of(self, rung: str) -> int:
        return next((index for index, names in enumerate(self.rounds) if rung in names), 0)

    @property
    def early_rungs(self) -> list[Rung]:
        """The rungs of the growing stream (round 0)."""
        return self.rungs_of(0)

    def picture_for(self, chunk: ChunkRef) -> Picture:
        """What the chunk's frames need: the first chunk of a picture that starts late is led in with black."""
        late = self.video_offset if chunk.start_seconds == 0 and self.video_offset >= 0.001 else 0.0
        return replace(self.picture, late_start=late)

    @property
    def grid(self) -> Grid:
        return Grid(self.segment_seconds, self.keyframe_seconds, self.chunk_seconds, self.thumbnail_seconds)

    @property
    def stream_prefix(self) -> str:
        return f"{video_prefix(self.upload.video_id)}stream/{self.tag}/"

    def chunk_key(self, rung: str, index: int) -> str:
        return f"{self.stream_prefix}{rung}/c{index:05d}.mp4"

    def piece_key(self, index: int, round_index: int = 0) -> str:
        """The chunk's record of what one round wrote (segments per rung): written last, so it means complete."""
        return f"{self.records_prefix(round_index)}c{index:05d}.json"

    def records_prefix(self, round_index: int) -> str:
        return f"{self.stream_prefix}pieces/r{round_index}/"

    def weight(self, item: Work) -> float:
        """What an item costs, roughly: its seconds times the pixels of its rungs (progress counts by it)."""
        seconds = item.chunk.end_seconds - item.chunk.start_seconds
        return seconds * sum(r.width * r.height for r in self.rungs_of(item.round))

    def thumbnail_key(self, number: int) -> str:
        return f"{self.stream_prefix}thumbs/t{number:05d}.jpg"

    def audio_key(self, index: int) -> str:
        """The audio of chunk `index`'s time range: the init segment and its fragments (logic/encoding.py)."""
        return f"{self.stream_prefix}audio/a{index:05d}.mp4"

    def audio_piece_key(self, index: int) -> str:
        return f"{self.audio_records_prefix}a{index:05d}.json"

    @property
    def audio_records_prefix(self) -> str:
        return f"{self.stream_prefix}audio/pieces/"

    @property
    def audio_done_key(self) -> str:
        """Written when the whole audio is stored: how many pieces it has."""
        return f"{self.stream_prefix}audio/done.json"

    @property
    def master_key(self) -> str:
        return f"{self.stream_prefix}master.m3u8"

    def playlist_key(self, track: str) -> str:
        """A rung's (or `audio`'s) media playlist."""
        return f"{self.stream_prefix}{track}/index.m3u8"

    @property
    def growing_key(self) -> str:
        """The records the growing stream's writers have read (logic/growing.py), so the next reads only what
        is new."""
        return f"{self.stream_prefix}pieces/growing.json"

    @property
    def final_key(self) -> str:
        """The finished stream's playlists, written before them (logic/growing.py: a late writer restores them)."""
        return f"{self.stream_prefix}final.json"


@dataclass(frozen=True)
class WorkflowConfig:
    output_bucket: str
    work_dir: Path
    limits: GateLimits = field(default_factory=GateLimits)
    grid: Grid = field(default_factory=Grid)
    download_max_bytes: int = 2 * 1024**3  # an MP4 download per rung up to this size (it is built in /tmp)
    chunk_concurrency: int = 40
    early_stream: bool = True  # the growing stream (logic/growing.py); False: the video plays once READY


@dataclass
class WorkflowDeps:
    storage: Storage
    publisher: Publisher
    media: MediaTool
    tombstones: Tombstones
    config: WorkflowConfig
    clock: Callable[[], datetime] = utc_now
    meter: Meter = field(default_factory=NoMeter)
    cpu_clock: Callable[[], float] | None = None  # CPU seconds of the media tool's finished processes so far


def cpu_seconds(deps: WorkflowDeps, since: float | None) -> float | None:
    """The media tool's CPU seconds since `since` (a `cpu_clock()` reading); None when nothing measures it."""
    if deps.cpu_clock is None or since is None:
        return None
    return round(deps.cpu_clock() - since, 3)


def cpu_now(deps: WorkflowDeps) -> float | None:
    return deps.cpu_clock() if deps.cpu_clock is not None else None


def tag_of(upload: Upload) -> str:
    """A short, stable name for one version of one upload (also the execution's name suffix)."""
    return hashlib.sha256(upload.identity.encode()).hexdigest()[:15]


def execution_name(upload: Upload) -> str:
    """One execution per uploaded object version: a duplicate start finds it already exists (at most 80 characters)."""
    return f"{upload.video_id}-{tag_of(upload)}"


def about(upload: Upload) -> dict[str, Any]:
    """The fields every event the workflow publishes takes from its upload."""
    return {
        "video_id": upload.video_id,
        "owner": upload.owner,
        "source": upload.source,
        "correlation_id": upload.correlation_id,
    }


def workflow_input(upload: Upload) -> dict[str, Any]:
    """The execution's input: the upload, as every delivery of it reads (so a duplicate start is recognised)."""
    return {"upload": upload.model_dump(mode="json")}


def failed(reason: FailureReason, detail: str, *, retryable: bool, chunk: ChunkRef | None = None) -> dict[str, Any]:
    failure: dict[str, Any] = {"reason_code": reason.value, "detail": detail[:1500], "retryable": retryable}
    if chunk is not None:
        failure["chunk"] = chunk.model_dump(mode="json")
    return {"status": "failed", "failure": failure}


@contextmanager
def work_dir(config: WorkflowConfig, prefix: str) -> Iterator[Path]:
    config.work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=config.work_dir) as folder:
        yield Path(folder)


def piece_json(piece: hls.Piece) -> dict[str, Any]:
    return {
        "uri": piece.uri,
        "timescale": piece.timescale,
        "init_length": piece.init_length,
        "sample_entry": piece.sample_entry,
        "segments": [[s.offset, s.length, s.ticks] for s in piece.segments],
    }


def piece_of(document: dict[str, Any]) -> hls.Piece:
    uri = document["uri"]
    return hls.Piece(
        uri=uri,
        timescale=document["timescale"],
        init_length=document["init_length"],
        sample_entry=document["sample_entry"],
        segments=tuple(hls.Segment(uri, offset, length, ticks) for offset, length, ticks in document["segments"]),
    )


# --- publishing ----------------------------------------------------------------------------------------


def still_wanted(video_id: str, deps: WorkflowDeps) -> bool:
    """False (after removing what was written for it) when the video was deleted meanwhile."""
    if not deps.tombstones.marked(video_id):
        return True
    deps.storage.delete_prefix(deps.config.output_bucket, video_prefix(video_id))
    return False


def publish_once(event: VideoTranscoded | VideoTranscodeFailed, deps: WorkflowDeps) -> dict[str, Any]:
    """Publish the outcome, then write the manifest (last: if publishing failed, a retry publishes again)."""
    if not still_wanted(event.video_id, deps):
        return {"status": "skipped", "reason": "DELETED"}
    deps.publisher.publish(event)
    deps.storage.write_json(
        deps.config.output_bucket,
        manifest_key(event.video_id),
        {"source": event.source.model_dump(mode="json"), "event": event.model_dump(mode="json")},
    )
    # A deletion that came in while we wrote must not leave our writes behind (see logic/deletion.py).
    if not still_wanted(event.video_id, deps):
        return {"status": "skipped", "reason": "DELETED"}
    return {"status": "published", "event": event.event_type, "event_id": event.event_id}
