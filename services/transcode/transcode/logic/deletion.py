"""A deleted video: remember it (a tombstone), then remove its renditions, poster and manifest.

The order is what makes deletion safe against a transcode still running: that transcode
checks the tombstone after its last write, so either it sees the tombstone and removes
what it wrote, or its writes all came before the tombstone, and so before the removal here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from contracts import VideoDeleted
from contracts.events import TOMBSTONE_LIFETIME, utc_now
from contracts.keys import video_prefix
from transcode.logic.ports import Storage, Tombstones


@dataclass
class DeletionDeps:
    storage: Storage
    tombstones: Tombstones
    output_bucket: str
    clock: Callable[[], datetime] = utc_now


def delete_outputs(event: VideoDeleted, deps: DeletionDeps) -> int:
    """Mark the video deleted and remove everything written for it; how many objects there were."""
    now = deps.clock()
    deps.tombstones.mark(event.video_id, deleted_at=now, expires_at=now + TOMBSTONE_LIFETIME)
    return deps.storage.delete_prefix(deps.output_bucket, video_prefix(event.video_id))
