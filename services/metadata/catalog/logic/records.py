"""Keep each video's catalog item: what happened to it, in an order that only moves forward."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog.logic.ports import CatalogStore, Publisher, Rank, RenditionProber, Status
from contracts import (
    SourceObject,
    Upload,
    VideoReady,
    VideoTranscoded,
    VideoTranscodeFailed,
    parse_upload_key,
    stable_event_id,
)
from contracts.events import utc_now


@dataclass
class UploadDeps:
    """What recording an upload needs: the table, and which bucket's uploads are ours."""

    store: CatalogStore
    uploads_bucket: str
    clock: Callable[[], datetime] = utc_now


@dataclass
class CatalogDeps:
    """What applying the transcoder's events needs."""

    store: CatalogStore
    prober: RenditionProber
    publisher: Publisher
    clock: Callable[[], datetime] = utc_now


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
        deps.store.note_upload(upload.video_id, first, latest=latest, sequence=upload.sequence)
    else:
        deps.store.note_upload(upload.video_id, first | latest)


def record_failed(event: VideoTranscodeFailed, deps: CatalogDeps) -> bool:
    """The transcoder gave up on the upload: FAILED with its reason. False if already final."""
    values = {
        "failure": {"code": event.reason_code.value, "reason": event.reason},
        "failed_at": _iso(event.occurred_at),
    }
    first = _first_values(event.source, event.owner, event.occurred_at)
    return deps.store.advance(event.video_id, Status.FAILED, values, first)


def _already_final(item: dict[str, Any] | None) -> bool:
    """Nothing is left to do for this video: it failed, was announced READY, or was deleted."""
    if not item or int(item.get("status_rank", 0)) < Rank.READY:
        return False
    return item.get("status") in (Status.FAILED, Status.DELETED) or bool(item.get("ready_published"))


def record_transcoded(event: VideoTranscoded, deps: CatalogDeps) -> VideoReady | None:
    """Renditions exist: read their metadata, mark the video READY and announce it once.

    Returns the VideoReady published by this call, or None when the video was
    already final (a duplicate or late event, or a video deleted meanwhile).
    """
    store = deps.store
    if _already_final(store.get(event.video_id)):
        return None
    first = _first_values(event.source, event.owner, event.occurred_at)
    store.advance(event.video_id, Status.PROCESSING, {"transcoded_at": _iso(event.occurred_at)}, first)

    started = deps.clock()
    renditions = []
    for rendition in event.renditions:
        summary = deps.prober.probe(rendition)
        renditions.append(rendition.model_dump(mode="json") | {"metadata": summary.model_dump(mode="json")})
    ready_at = deps.clock()
    ready = VideoReady(
        event_id=stable_event_id("VideoReady", event.event_id),
        correlation_id=event.correlation_id,
        video_id=event.video_id,
        owner=event.owner,
        title=first["title"],
        duration_seconds=renditions[0]["metadata"]["duration_seconds"],
        renditions=[r.name for r in event.renditions],
        occurred_at=ready_at,
    )
    values = {
        "renditions": renditions,
        "poster": event.poster.model_dump(mode="json"),
        "metadata": renditions[0]["metadata"],
        "transcode": {"started_at": _iso(event.started_at), "timings": event.timings},
        "transcoded_at": _iso(event.occurred_at),
        "ready_at": _iso(ready_at),
        "metadata_seconds": round((ready_at - started).total_seconds(), 3),
        "ready_event_id": ready.event_id,
    }
    if not store.advance(event.video_id, Status.READY, values, first):
        # Already final: READY by an earlier delivery whose announcement may not have gone out.
        item = store.get(event.video_id) or {}
        if item.get("status") != Status.READY or item.get("ready_published"):
            return None
        ready = ready.model_copy(update={"event_id": item.get("ready_event_id", ready.event_id)})
    deps.publisher.publish(ready)
    store.set_values(event.video_id, {"ready_published": True})  # False if deleted since: nothing to mark
    return ready
