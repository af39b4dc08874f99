"""Keep each video's catalog item: what happened to it, in an order that only moves forward.

UPLOADED -> PROCESSING (with progress) -> FAILED -> READY, and DELETED for good: a workflow that failed on a
chunk may be redriven and succeed, so READY beats FAILED; nothing moves out of READY or DELETED.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from catalog.logic.items import VideoItem
from catalog.logic.ports import CatalogStore, Publisher, RenditionProber, Status
from catalog.logic.status import announce
from catalog.logic.streams import stream_summary
from contracts import (
    SourceObject,
    Upload,
    VideoReady,
    VideoTranscoded,
    VideoTranscodedV1,
    VideoTranscodeFailed,
    VideoTranscodeFailedV1,
    VideoTranscodeProgress,
    VideoTranscodeProgressV1,
    parse_upload_key,
    stable_event_id,
)
from contracts.events import utc_now
from lambdakit.metrics import SOURCE_MINUTES, VIDEOS_FAILED, VIDEOS_READY, VIDEOS_UPLOADED, Meter, NoMeter


@dataclass
class UploadDeps:
    """What recording an upload needs: the table, which bucket's uploads are ours, and where changes are told."""

    store: CatalogStore
    uploads_bucket: str
    publisher: Publisher
    clock: Callable[[], datetime] = utc_now
    meter: Meter = field(default_factory=NoMeter)


@dataclass
class CatalogDeps:
    """What applying the transcoder's events needs."""

    store: CatalogStore
    prober: RenditionProber
    publisher: Publisher
    clock: Callable[[], datetime] = utc_now
    meter: Meter = field(default_factory=NoMeter)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _first_values(source: SourceObject, owner: str | None, first_seen: datetime) -> dict[str, Any]:
    """Facts set by whichever event arrives first and never overwritten."""
    values = {
        "title": parse_upload_key(source.key).filename,
        "source": source.model_dump(mode="json"),
        "created_at": _iso(first_seen),
    }
    if owner:
        values["owner"] = owner
    return values


def record_upload(upload: Upload, deps: UploadDeps) -> None:
    """An object landed in the uploads bucket: the video exists, UPLOADED (unless it is further on or deleted)."""
    uploaded_at = upload.uploaded_at or deps.clock()
    first = _first_values(upload.source, upload.owner, uploaded_at) | {"correlation_id": upload.correlation_id}
    latest = {"source": first.pop("source"), "uploaded_at": _iso(uploaded_at)}
    if upload.sequence:
        # The key may be written twice (the form is valid for minutes): the newest write is the
        # source, whatever order the events arrive in. An older event changes nothing.
        noted = deps.store.note_upload(upload.video_id, first, latest=latest, sequence=upload.sequence)
    else:
        noted = deps.store.note_upload(upload.video_id, first | latest)
    if noted:  # counted when written, so a retry after a failed announcement does not count it again
        deps.meter.record(VIDEOS_UPLOADED)
    _announce(upload.video_id, upload.correlation_id, deps)


def _announce(video_id: str, correlation_id: str, deps: UploadDeps | CatalogDeps) -> None:
    """Tell the catalog's subscribers what the write changed (nothing, if it changed nothing)."""
    announce(video_id, correlation_id=correlation_id, store=deps.store, publisher=deps.publisher, clock=deps.clock)


def record_progress(event: VideoTranscodeProgress | VideoTranscodeProgressV1, deps: CatalogDeps) -> bool:
    """Another share of the video is encoded: PROCESSING with that progress, and how far the growing stream
    plays (with where it is), each kept at its highest.

    False, changing nothing, when the stored progress and playable seconds are already as far (a late,
    duplicate or out-of-order event) or the video is final (READY, FAILED or DELETED).
    """
    values = {
        "chunks_done": event.chunks_done,
        "chunks_total": event.chunks_total,
        "progress_at": _iso(event.occurred_at),
    }
    first = _first_values(event.source, event.owner, event.occurred_at)
    moved = deps.store.note_progress(event.video_id, round(event.progress, 4), values, first)
    if event.playable is not None:  # the growing stream reaches further (the catalog keeps the furthest)
        prefix = event.playable
        early = {"bucket": prefix.bucket, "master": prefix.master, "duration_seconds": prefix.duration_seconds}
        seconds = round(prefix.seconds, 1)
        grew = deps.store.note_progress(
            event.video_id, seconds, {"early_stream": early}, first, measure="playable_seconds"
        )
        moved = moved or grew
    _announce(event.video_id, event.correlation_id, deps)
    return moved


def record_failed(event: VideoTranscodeFailed | VideoTranscodeFailedV1, deps: CatalogDeps) -> bool:
    """The transcoder gave up on the upload: FAILED with its reason (and the chunk, if one failed).

    False if it was already FAILED, READY or deleted: the first failure is the one kept.
    """
    failure: dict[str, Any] = {"code": event.reason_code.value, "reason": event.reason}
    if isinstance(event, VideoTranscodeFailed) and event.chunk is not None:
        failure["chunk"] = event.chunk.model_dump(mode="json")
    values = {"failure": failure, "failed_at": _iso(event.occurred_at)}
    first = _first_values(event.source, event.owner, event.occurred_at)
    moved = deps.store.advance(event.video_id, Status.FAILED, values, first)
    if moved:
        deps.meter.record(VIDEOS_FAILED, reason=event.reason_code.value)
    _announce(event.video_id, event.correlation_id, deps)
    return moved


def _nothing_left_to_do(item: VideoItem | None) -> bool:
    """The video was deleted, or announced READY: a VideoTranscoded for it changes nothing."""
    if not item:
        return False
    return item.deleted or (item.status == Status.READY and item.ready_published)


def _downloads(event: VideoTranscoded | VideoTranscodedV1, deps: CatalogDeps) -> list[dict[str, Any]]:
    """Each MP4 (best first) with the metadata ffprobe reads from it."""
    return [
        rendition.model_dump(mode="json") | {"metadata": deps.prober.probe(rendition).model_dump(mode="json")}
        for rendition in event.renditions
    ]


def _ready_values(event: VideoTranscoded | VideoTranscodedV1, downloads: list[dict[str, Any]]) -> dict[str, Any]:
    """What READY stores besides its timestamps: files, metadata, and (v2) the HLS package."""
    values: dict[str, Any] = {
        "renditions": downloads,
        "poster": event.poster.model_dump(mode="json"),
        "transcode": {"started_at": _iso(event.started_at), "timings": event.timings},
    }
    if isinstance(event, VideoTranscodedV1):
        return values | {"metadata": downloads[0]["metadata"]}
    # A long video may have no downloads: its metadata is then what the transcoder says about the package.
    metadata = (
        downloads[0]["metadata"]
        if downloads
        else stream_summary(event.stream, event.duration_seconds).model_dump(mode="json")
    )
    return values | {
        "metadata": metadata,
        "stream": event.stream.model_dump(mode="json"),
        "thumbnails": event.thumbnails.model_dump(mode="json") if event.thumbnails else None,
        "chunks": event.chunks,
        "duration_seconds": event.duration_seconds,
    }


def record_transcoded(event: VideoTranscoded | VideoTranscodedV1, deps: CatalogDeps) -> VideoReady | None:
    """The video is transcoded (v2: an HLS package and MP4 downloads; v1: MP4s): read the downloads' metadata,
    mark it READY (from FAILED too: a redriven workflow) and announce it once.

    Returns the VideoReady published by this call, or None when the video was already announced READY (a
    duplicate or late event) or deleted.
    """
    store = deps.store
    if _nothing_left_to_do(store.get(event.video_id)):
        _announce(event.video_id, event.correlation_id, deps)  # READY announced, its status change maybe not
        return None
    first = _first_values(event.source, event.owner, event.occurred_at)
    store.advance(event.video_id, Status.PROCESSING, {"transcoded_at": _iso(event.occurred_at)}, first)
    _announce(event.video_id, event.correlation_id, deps)  # PROCESSING while the downloads are probed

    started = deps.clock()
    downloads = _downloads(event, deps)
    values = _ready_values(event, downloads)
    ready_at = deps.clock()
    if isinstance(event, VideoTranscoded):
        duration, names = event.duration_seconds, [r.name for r in event.stream.renditions]
    else:
        duration, names = values["metadata"]["duration_seconds"], [r.name for r in event.renditions]
    ready = VideoReady(
        event_id=stable_event_id("VideoReady", event.event_id),
        correlation_id=event.correlation_id,
        video_id=event.video_id,
        owner=event.owner,
        title=first["title"],
        duration_seconds=duration,
        renditions=names,
        occurred_at=ready_at,
    )
    values |= {
        "transcoded_at": _iso(event.occurred_at),
        "ready_at": _iso(ready_at),
        "metadata_seconds": round((ready_at - started).total_seconds(), 3),
        "ready_event_id": ready.event_id,
    }
    if not store.advance(event.video_id, Status.READY, values, first):
        # Already final: READY by an earlier delivery whose announcement may not have gone out.
        item = store.get(event.video_id)
        if not item or item.status != Status.READY or item.ready_published:
            _announce(event.video_id, event.correlation_id, deps)
            return None
        ready = ready.model_copy(update={"event_id": item.ready_event_id or ready.event_id})
    deps.publisher.publish(ready)
    deps.meter.record(VIDEOS_READY)  # once per VideoReady published
    if duration:
        deps.meter.record(SOURCE_MINUTES, duration / 60)
    store.set_values(event.video_id, {"ready_published": True})  # False if deleted since: nothing to mark
    _announce(event.video_id, event.correlation_id, deps)
    return ready
