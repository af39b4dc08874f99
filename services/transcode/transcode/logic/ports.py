"""What the transcode logic needs from the outside world; adapters/ implements it, tests fake it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from contracts import AnyVideoEvent, Upload
from contracts.events import ChunkRef
from contracts.media import Probe
from transcode.logic.chunking import Grid
from transcode.logic.ladder import Rendition
from transcode.logic.picture import AS_IS, Picture


class SourceMissing(Exception):
    """The uploaded object is gone (deleted before we got to it)."""


class SourceSuperseded(Exception):
    """The key was written again since this event: a newer event is about the content it holds now."""


@dataclass(frozen=True)
class SourceRef:
    """How to read the uploaded object where it is: a URL for ranged reads, and the header that pins its version."""

    target: str
    headers: str | None = None
    size: int | None = None  # the object's size as S3 says it (what the event said may be wrong or missing)


@dataclass(frozen=True)
class ChunkFiles:
    """What one chunk encode wrote in its work folder."""

    renditions: dict[str, Path]
    thumbnails: dict[int, Path] = field(default_factory=dict)
    poster: Path | None = None


class Storage(Protocol):
    def source_url(self, upload: Upload) -> SourceRef:
        """A short-lived read of exactly that version (or ETag) of the upload; a rewrite of the key fails it."""
        ...

    def upload(self, path: Path, bucket: str, key: str, content_type: str) -> None: ...

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> None: ...

    def put_text(self, bucket: str, key: str, text: str, content_type: str) -> None: ...

    def download(self, bucket: str, key: str, dest: Path) -> None: ...

    def size(self, bucket: str, key: str) -> int: ...

    def list_keys(self, bucket: str, prefix: str) -> list[str]: ...

    def list_etags(self, bucket: str, prefix: str) -> dict[str, str]:
        """The keys under the prefix with their ETags (one listing: what changed is told without reading it)."""
        ...

    def read_json(self, bucket: str, key: str) -> dict[str, Any] | None: ...

    def write_json(self, bucket: str, key: str, document: dict[str, Any]) -> None: ...

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every object under the prefix; how many there were (0 when already gone)."""
        ...


class Tombstones(Protocol):
    """The videos deleted lately: their late or redriven uploads must not be transcoded again."""

    def mark(self, video_id: str, *, deleted_at: datetime, expires_at: datetime) -> None: ...

    def marked(self, video_id: str) -> bool: ...


class Publisher(Protocol):
    def publish(self, event: AnyVideoEvent) -> None: ...


class Executions(Protocol):
    def start(self, name: str, document: dict[str, Any]) -> bool:
        """Start the workflow under that name; False when an execution of that name exists already."""
        ...


class MediaTool(Protocol):
    """ffprobe and ffmpeg. Source errors come back as SourceMissing / SourceSuperseded, the rest as MediaToolError."""

    def probe(self, source: SourceRef) -> Probe: ...

    def encode_chunk(
        self,
        source: SourceRef,
        demuxer: str,
        chunk: ChunkRef,
        renditions: list[Rendition],
        grid: Grid,
        timescale: int,
        out_dir: Path,
        *,
        poster_at: float | None,
        picture: Picture = AS_IS,
        last: bool = False,
        top: Rendition | None = None,
        thumbnails: bool = True,
        progress: Callable[[int, float], None] | None = None,
        background: bool = False,
    ) -> ChunkFiles:
        """The renditions of one chunk (decoded once, `picture` applied), its thumbnails (unless asked not to),
        and the poster when asked; the `last` chunk reads to the end of the source. `top` is the video's best
        rung (the poster's and thumbnails' size; default the first rendition). `progress` is told, about every
        second, how far ffmpeg has come: (frames written, seconds of output muxed: this lags behind).
        `background`: at a lower CPU priority, yielding shared cores to encodes that are not."""
        ...

    def encode_audio(
        self, source: SourceRef, demuxer: str, sink: Callable[[bytes], object], *, video_seconds: float
    ) -> None:
        """The source's audio as one fragmented MP4 (AAC, 2 s fragments), handed to `sink` as it is written."""
        ...

    def join_download(self, video_track: Path, audio_track: Path | None, out: Path) -> None:
        """One MP4 (moov first) from a rung's whole fragmented track and the audio's, every timestamp kept."""
        ...

    def sprite(self, images: list[Path], columns: int, out: Path) -> None:
        """Tile the images (thumbnails of one size) into one JPEG, `columns` wide."""
        ...

    def extract_subtitles(self, source: SourceRef, demuxer: str, streams: list[int], out_dir: Path) -> dict[int, Path]:
        """Each of the source's text subtitle streams (by stream index) as a WebVTT file on the source's timeline,
        in one read of the source; a stream ffmpeg cannot convert fails the whole call (MediaToolError)."""
        ...
