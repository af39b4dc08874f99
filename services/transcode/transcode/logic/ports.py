"""What the transcode logic needs from the outside world; adapters/ implements it, tests fake it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from contracts import AnyVideoEvent
from contracts.media import Probe
from transcode.logic.gate import Accepted
from transcode.logic.ladder import Rendition


class SourceMissing(Exception):
    """The uploaded object is gone (deleted before we got to it)."""


class SourceSuperseded(Exception):
    """The key was written again since this event: a newer event is about the content it holds now."""


class Storage(Protocol):
    def download(
        self, bucket: str, key: str, dest: Path, *, etag: str | None = None, version: str | None = None
    ) -> int:
        """Download exactly that version (or that ETag) of the object; SourceSuperseded if it was replaced."""
        ...

    def upload(self, path: Path, bucket: str, key: str, content_type: str) -> None: ...

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


class MediaTool(Protocol):
    def probe(self, source: Path) -> Probe: ...

    def transcode(
        self, source: Path, accepted: Accepted, renditions: list[Rendition], poster_at: float, out_dir: Path
    ) -> dict[str, Path]:
        """Encode every rendition and the poster in one pass; name -> file ('poster' for the JPEG)."""
        ...
