"""Tell the catalog's subscribers (the notifier) about every change of a video's status or progress, once.

A change is announced after the write that made it, from the item as stored, and marked announced; an input
that changed nothing finds it announced and publishes nothing. If the publish fails, the input is retried, its
write changes nothing, and the change not yet marked is announced then (the same event id: at least once).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from catalog.logic.items import StoredFailure, VideoItem
from catalog.logic.ports import CatalogStore, Publisher, Status
from contracts import VideoStatus, VideoStatusChanged, stable_event_id, status_sequence
from contracts.readable import failure_sentence


def failure_reason(failure: StoredFailure | None) -> str:
    """A stored failure as its owner reads it: the sentence of its code (naming the part of the video when a
    chunk failed), never the text its event carried (an event older than the sentences carried ffmpeg's)."""
    failure = failure or StoredFailure()
    return failure_sentence(failure.code, failure.chunk)


def status_changed(item: VideoItem, *, correlation_id: str, at: datetime) -> VideoStatusChanged:
    """The item's status as an event: progress only while PROCESSING, the reason (in words) only when FAILED."""
    status = item.status or Status.UPLOADED
    rank = item.rank
    progress = item.progress if status == Status.PROCESSING else None
    playable = item.playable_seconds if status == Status.PROCESSING else None
    sequence = status_sequence(rank, progress, playable)
    return VideoStatusChanged(
        event_id=stable_event_id("VideoStatusChanged", item.video_id, str(sequence)),
        correlation_id=correlation_id,
        occurred_at=at,
        video_id=item.video_id,
        owner=item.owner,
        status=VideoStatus(status),
        rank=rank,
        progress=progress,
        reason=failure_reason(item.failure) if status == Status.FAILED else None,
        title=item.title,
        sequence=sequence,
        playable_seconds=playable,
    )


def announce(
    video_id: str,
    *,
    correlation_id: str,
    store: CatalogStore,
    publisher: Publisher,
    clock: Callable[[], datetime],
) -> VideoStatusChanged | None:
    """Publish the video's current status unless it was announced already; the event, or None.

    A tombstone is left alone: the deletion announces DELETED itself, before it buries the item.
    """
    item = store.get(video_id)
    if not item or item.status in (None, Status.DELETED):
        return None
    change = status_changed(item, correlation_id=correlation_id, at=clock())
    if item.announced_sequence is not None and change.sequence <= item.announced_sequence:
        return None
    publisher.publish(change)
    # Two concurrent writers may both publish and mark (a later mark may be the lower one): then an input that
    # changes nothing publishes the current status again, with the same event id; clients order by sequence.
    store.set_values(video_id, {"announced_sequence": change.sequence})
    return change
