"""What the catalog logic needs from the outside world; adapters/ implements it, tests fake it."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any, Protocol

from contracts import DomainEvent, RenditionFile
from contracts.media import MediaSummary


class Status(StrEnum):
    UPLOADED = "UPLOADED"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


class Rank(IntEnum):
    """Status only moves to a higher rank. READY and FAILED are both final."""

    UPLOADED = 1
    PROCESSING = 2
    READY = 3
    FAILED = 3


class CatalogStore(Protocol):
    def get(self, video_id: str) -> dict[str, Any] | None: ...

    def note_upload(
        self,
        video_id: str,
        first_values: dict[str, Any],
        *,
        latest: dict[str, Any] | None = None,
        sequence: str | None = None,
    ) -> None:
        """Create the item as UPLOADED, or only fill in what is missing: never moves status.

        With a `sequence`, `latest` is written too, but only if no later write of the key
        was recorded (conditional on the stored `upload_sequence`).
        """
        ...

    def advance(self, video_id: str, status: Status, values: dict[str, Any], first_values: dict[str, Any]) -> bool:
        """Move to `status` if the item's rank is lower (conditional write); False if it was not."""
        ...

    def set_values(self, video_id: str, values: dict[str, Any]) -> None: ...

    def delete(self, video_id: str, owner: str) -> None:
        """Remove the item if it is still this owner's (a no-op otherwise)."""
        ...


class RenditionProber(Protocol):
    def probe(self, rendition: RenditionFile) -> MediaSummary: ...


class Publisher(Protocol):
    def publish(self, event: DomainEvent) -> None: ...
