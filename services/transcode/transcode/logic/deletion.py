"""A deleted video: remember it (a tombstone), then remove its renditions, poster and manifest, then have the
playback CDN (if the stage has one) drop its copies of them.

The order is what makes deletion safe against a transcode still running: that transcode
checks the tombstone after its last write, so either it sees the tombstone and removes
what it wrote, or its writes all came before the tombstone, and so before the removal here.
The CDN's copies go last: a copy it fetched while the files were being removed is dropped too, and after that
the origin has nothing left to give it, whatever signed URL a viewer still holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from contracts import VideoDeleted
from contracts.events import TOMBSTONE_LIFETIME, utc_now
from contracts.keys import video_prefix
from transcode.logic.ports import Storage, Tombstones


class Cdn(Protocol):
    """The playback CDN in front of the output bucket (CloudFront: its paths are the bucket's keys)."""

    def invalidate(self, paths: list[str], *, reference: str) -> None:
        """Drop the cached copies of these paths (`*` at the end: everything under them). The same reference with
        the same paths again is the same request: nothing new is made."""
        ...


@dataclass
class DeletionDeps:
    storage: Storage
    tombstones: Tombstones
    output_bucket: str
    cdn: Cdn | None = None  # None: no CDN serves the bucket
    clock: Callable[[], datetime] = utc_now


def delete_outputs(event: VideoDeleted, deps: DeletionDeps) -> int:
    """Mark the video deleted, remove everything written for it, then invalidate it on the CDN; how many objects
    there were. Each step is safe to repeat: a redelivered message invalidates again under the same reference
    (the event's id, the same for every delivery), which the CDN answers with the invalidation it made."""
    now = deps.clock()
    deps.tombstones.mark(event.video_id, deleted_at=now, expires_at=now + TOMBSTONE_LIFETIME)
    removed = deps.storage.delete_prefix(deps.output_bucket, video_prefix(event.video_id))
    if deps.cdn is not None:
        deps.cdn.invalidate([f"/{video_prefix(event.video_id)}*"], reference=event.event_id)
    return removed
