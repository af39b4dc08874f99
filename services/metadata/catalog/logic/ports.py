"""What the catalog logic needs from the outside world; adapters/ implements it, tests fake it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from contracts import AnyVideoEvent, RenditionFile
from contracts.media import MediaSummary

if TYPE_CHECKING:
    from catalog.logic.items import VideoItem


class Status(StrEnum):
    UPLOADED = "UPLOADED"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"
    DELETED = "DELETED"  # a tombstone: the owner deleted it; nothing may bring it back


class Rank(IntEnum):
    """Status only moves to a higher rank: READY beats FAILED (a redriven workflow that then succeeds makes the
    video READY, while a late failure never unmakes it); DELETED beats all.

    Items written before READY ranked above FAILED keep their ranks (READY 3, the tombstone 4), and every rule
    still holds for them: a late failure does not beat READY's 3, and nothing beats the tombstone's 4 but itself.
    """

    UPLOADED = 1
    PROCESSING = 2
    FAILED = 3
    READY = 4
    DELETED = 5


class CatalogStore(Protocol):
    """The catalog table. Reads give typed items; writes name the stored attributes they set (JSON values)."""

    def get(self, video_id: str) -> VideoItem | None: ...

    def note_upload(
        self,
        video_id: str,
        first_values: dict[str, Any],
        *,
        latest: dict[str, Any] | None = None,
        sequence: str | None = None,
    ) -> bool:
        """Create the item as UPLOADED, or only fill in what is missing: never moves status, never touches a
        tombstone.

        With a `sequence`, `latest` is written too, but only if no later write of the key
        was recorded (conditional on the stored `upload_sequence`). False when the write did not happen
        (that later write, or a tombstone).
        """
        ...

    def advance(self, video_id: str, status: Status, values: dict[str, Any], first_values: dict[str, Any]) -> bool:
        """Move to `status` if the item's rank is lower (conditional write); False if it was not."""
        ...

    def note_progress(
        self,
        video_id: str,
        progress: float,
        values: dict[str, Any],
        first_values: dict[str, Any],
        *,
        measure: str = "progress",
    ) -> bool:
        """Set the `measure` (`progress`, or `playable_seconds`) to `progress` (and `values`), and PROCESSING, if
        the item is at most PROCESSING and its stored measure is absent or lower (one conditional write); False
        if it was not."""
        ...

    def set_values(self, video_id: str, values: dict[str, Any]) -> bool:
        """Set values on an existing item that is not a tombstone; False if there is none."""
        ...

    def name(self, video_id: str, owner: str, title: str, rank: int) -> bool:
        """Set the title (creating a bare item, with no status, if there is none yet) unless one of a rank as high
        was set, the item is a tombstone or another owner's; False if it was not set."""
        ...

    def share(
        self, video_id: str, owner: str, values: dict[str, Any], *, first_values: dict[str, Any], remove: list[str]
    ) -> bool:
        """Set `values` (and `first_values` where missing), remove `remove`, on this owner's video that has a status
        and is not a tombstone; False if there is none."""
        ...

    def bury(self, video_id: str, owner: str, *, deleted_at: datetime, expires_at: datetime) -> bool:
        """Replace this owner's item by a tombstone (status DELETED, gone after `expires_at`); False if the
        item is not theirs or already a tombstone."""
        ...


class OwnerNames(Protocol):
    """The names owners chose to be seen by (DisplayNameChanged from the auth service), by sub."""

    def names(self, subs: set[str]) -> dict[str, str]:
        """The display names of those of `subs` that chose one."""
        ...

    def remember(self, sub: str, name: str | None, version: int) -> bool:
        """Keep the name if `version` is newer than the one kept; False if it was not."""
        ...


class PublicIndex(Protocol):
    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[VideoItem], dict[str, Any] | None]:
        """A page of the public videos, newest first, and the key to start the next one from (None: no more)."""
        ...


class CatalogReader(Protocol):
    def get(self, video_id: str) -> VideoItem | None:
        """The video's item (a tombstone too); None if there is none. Strongly consistent."""
        ...


class OwnerIndex(Protocol):
    def page(
        self, owner: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[VideoItem], dict[str, Any] | None]:
        """A page of the owner's items, newest first, and the key to start the next one from (None: no more)."""
        ...


class UrlSigner(Protocol):
    def url(self, bucket: str, key: str, expires_in: int) -> str: ...


class RenditionProber(Protocol):
    def probe(self, rendition: RenditionFile) -> MediaSummary: ...


class Publisher(Protocol):
    def publish(self, event: AnyVideoEvent) -> None: ...


class MediaSigner(Protocol):
    """A URL that lets anyone holding it GET one object for `expires_in` seconds (S3 presigned, or the CDN's)."""

    def url(self, bucket: str, key: str, expires_in: int) -> str: ...


@dataclass(frozen=True)
class Grant:
    """What a playback link may read: one video's stream package (its folder in one bucket), until `expires_at`."""

    grant_id: str
    video_id: str
    owner: str
    bucket: str
    prefix: str  # the package's folder, ending in "/": videos/{id}/stream/{tag}/
    master: str  # the master playlist's path in the package
    expires_at: datetime
    issued_at: datetime | None = None  # (None: a grant stored before grants were reused)
    share_key: str | None = None  # a grant of the share link with this key (anyone's); None: the owner's


class GrantStore(Protocol):
    def get(self, grant_id: str) -> Grant | None:
        """The grant, expired or not (the caller decides); None if there is none."""
        ...

    def live(self, owner: str, video_id: str, *, shared: bool = False) -> Grant | None:
        """The grant last issued to this owner for this video (`shared`: to anyone, through its share link), expired
        or not, in one (strongly consistent) read; None if there is none."""
        ...

    def issue(self, grant: Grant, *, replacing: Grant | None) -> bool:
        """Store the grant and make it the live grant of its video (the owner's, or the share link's when it has a
        `share_key`), at once, if the live one is still `replacing` (None: if there is none); False, and nothing
        stored, if another request issued one since."""
        ...


class PackageFiles(Protocol):
    def text(self, bucket: str, key: str) -> str | None:
        """The object's text; None if there is no such object."""
        ...
