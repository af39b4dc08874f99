"""What the catalog API shows a user: only their own videos, with short-lived links once READY."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from catalog.logic.cursors import decode_index_cursor, encode_cursor
from catalog.logic.items import StoredFailure, StoredFile, VideoItem
from catalog.logic.playback import GrantDeps, playback_for
from catalog.logic.ports import CatalogStore, OwnerIndex, Publisher, Rank, Status, UrlSigner
from catalog.logic.status import failure_reason, status_changed
from contracts import StreamPackage, Thumbnails, VideoDeleted, stable_event_id
from contracts.api import (
    Failure,
    PageQuery,
    Processing,
    RenditionView,
    SignedFile,
    StreamRung,
    StreamView,
    ThumbnailsView,
    VideoDetails,
    VideoPage,
    VideoSummary,
)
from contracts.events import TOMBSTONE_LIFETIME, utc_now
from contracts.keys import VIDEO_ID_RE, video_prefix
from lambdakit.refusals import Invalid, NotFound

URL_LIFETIME = timedelta(minutes=15)


@dataclass
class ListDeps:
    index: OwnerIndex
    signer: UrlSigner  # signs locally: a page of posters costs no request


@dataclass
class DetailsDeps:
    store: CatalogStore
    signer: UrlSigner
    grants: GrantDeps | None = None  # mints playback links; None: no playback
    clock: Callable[[], datetime] = utc_now


@dataclass
class DeleteDeps:
    store: CatalogStore
    publisher: Publisher
    clock: Callable[[], datetime] = utc_now


def decode_cursor(cursor: str | None, owner: str) -> dict[str, Any] | None:
    """Where the owner's next page starts (a cursor of another owner's list is refused)."""
    return decode_index_cursor(cursor, "owner", owner)


def _signed(
    signer: UrlSigner, video_id: str, ready: bool, file: StoredFile | None, lifetime: timedelta = URL_LIFETIME
) -> str | None:
    """A short-lived link to one of a READY video's own files; None before READY or for anything else."""
    if not ready or not file or not file.key.startswith(video_prefix(video_id)):
        return None
    return signer.url(file.bucket, file.key, int(lifetime.total_seconds()))


def poster_view(
    signer: UrlSigner, video_id: str, ready: bool, poster: StoredFile | None, lifetime: timedelta = URL_LIFETIME
) -> SignedFile | None:
    if not poster:
        return None
    return SignedFile(
        url=_signed(signer, video_id, ready, poster, lifetime),
        width=poster.width,
        height=poster.height,
        size_bytes=poster.size_bytes,
    )


def _summary(item: VideoItem, signer: UrlSigner) -> VideoSummary:
    status = item.status or Status.UPLOADED
    ready = status == Status.READY
    return VideoSummary(
        video_id=item.video_id,
        title=item.title,
        status=status,
        created_at=item.created_at,
        visibility=item.visibility,
        share_id=item.share_id,
        views=item.views,
        duration_seconds=duration_of(item),
        progress=item.progress if status == Status.PROCESSING else None,
        playable_seconds=playable_seconds_of(item),
        poster=poster_view(signer, item.video_id, ready, item.poster) if ready else None,
    )


def duration_of(item: VideoItem) -> float | None:
    """The video's length: from its metadata once READY, from its growing stream's plan while it is encoded."""
    if item.metadata and item.metadata.duration_seconds is not None:
        return item.metadata.duration_seconds
    return item.early_stream.duration_seconds if item.early_stream else None


def playable_seconds_of(item: VideoItem) -> float | None:
    """While PROCESSING, how far the growing stream plays (None before its start is stored)."""
    return item.playable_seconds if item.status == Status.PROCESSING and item.early_stream else None


def list_videos(owner: str, query: PageQuery, deps: ListDeps) -> VideoPage:
    """The owner's videos, newest first, a page at a time (tombstones are not in the index: no created_at), each
    with its progress while PROCESSING and a 15-minute link to its poster once READY."""
    items, last_key = deps.index.page(owner, query.limit, decode_cursor(query.cursor, owner))
    return VideoPage(
        videos=[_summary(item, deps.signer) for item in items if not item.deleted],
        next_cursor=encode_cursor(last_key),
    )


def owned_item(store: CatalogStore, owner: str, video_id: str) -> VideoItem:
    """The caller's own video; another user's, a deleted one, an unknown id and a title whose upload never came (a
    bare item, with no status) look the same: not found."""
    if not VIDEO_ID_RE.fullmatch(video_id):
        raise Invalid("malformed video id")
    item = store.get(video_id)
    if not item or item.owner != owner or item.deleted or item.status is None:
        raise NotFound("video not found")
    return item


def _stream(stream: StreamPackage | None) -> StreamView | None:
    """The ladder without its keys (`playback` has the link a player uses)."""
    if not stream:
        return None
    return StreamView(
        renditions=[
            StreamRung.model_validate(r.model_dump(include=set(StreamRung.model_fields))) for r in stream.renditions
        ],
        audio=bool(stream.audio),
        segment_seconds=stream.segment_seconds,
        duration_seconds=stream.duration_seconds,
    )


def _thumbnails(thumbnails: Thumbnails | None) -> ThumbnailsView | None:
    if not thumbnails:
        return None
    return ThumbnailsView(
        interval_seconds=thumbnails.interval_seconds, width=thumbnails.width, height=thumbnails.height
    )


def _failure(stored: StoredFailure) -> Failure:
    """The code, the chunk, and the reason in words (see status.failure_reason)."""
    return Failure.model_validate({"code": stored.code, "chunk": stored.chunk, "reason": failure_reason(stored)})


def video_details(owner: str, video_id: str, deps: DetailsDeps) -> VideoDetails:
    """One of the owner's videos; once READY, signed downloads; a playback link on the API's configured URL once
    READY with an HLS package, or while PROCESSING once its growing stream plays (the same link)."""
    item = owned_item(deps.store, owner, video_id)
    signer, clock = deps.signer, deps.clock
    status = item.status or Status.UPLOADED
    ready = status == Status.READY
    renditions = [
        RenditionView(
            name=r.name,
            url=_signed(signer, video_id, ready, r),
            width=r.width,
            height=r.height,
            size_bytes=r.size_bytes,
            metadata=r.metadata,
        )
        for r in item.renditions
    ]
    transcode = item.transcode
    return VideoDetails(
        video_id=video_id,
        title=item.title,
        description=item.description,
        visibility=item.visibility,
        share_id=item.share_id,
        views=item.views,
        status=status,
        created_at=item.created_at,
        uploaded_at=item.uploaded_at,
        ready_at=item.ready_at,
        progress=item.progress if status == Status.PROCESSING else None,
        duration_seconds=duration_of(item),
        playable_seconds=playable_seconds_of(item),
        # a redriven workflow that succeeded leaves its earlier failure in the item: READY shows none
        failure=_failure(item.failure) if status == Status.FAILED and item.failure else None,
        metadata=item.metadata,
        stream=_stream(item.stream),
        renditions=renditions,
        poster=poster_view(signer, video_id, ready, item.poster),
        thumbnails=_thumbnails(item.thumbnails),
        playback=playback_for(item, deps.grants) if deps.grants else None,
        urls_expire_at=(clock() + URL_LIFETIME).isoformat() if ready else None,
        processing=Processing(
            transcode_started_at=transcode.started_at if transcode else None,
            transcoded_at=item.transcoded_at,
            transcode_timings=transcode.timings if transcode else {},
            metadata_seconds=item.metadata_seconds,
            chunks=item.chunks,
        ),
    )


def delete_video(owner: str, video_id: str, *, correlation_id: str, deps: DeleteDeps) -> VideoDeleted:
    """Announce the deletion (VideoDeleted, and the status change DELETED), then leave only a tombstone: if that
    fails, a retry announces again (same ids).

    The tombstone (status DELETED, expiring after TOMBSTONE_LIFETIME) makes every writer's
    condition refuse the video, so no late, duplicate or redriven event brings it back.
    """
    item = owned_item(deps.store, owner, video_id)
    deleted = VideoDeleted(
        event_id=stable_event_id("VideoDeleted", video_id),
        correlation_id=correlation_id,
        video_id=video_id,
        owner=owner,
        source=item.source,
    )
    deps.publisher.publish(deleted)
    now = deps.clock()
    tombstone = item.model_copy(update={"status": Status.DELETED, "status_rank": int(Rank.DELETED)})
    deps.publisher.publish(status_changed(tombstone, correlation_id=correlation_id, at=now))  # the owner's pages
    deps.store.bury(video_id, owner, deleted_at=now, expires_at=now + TOMBSTONE_LIFETIME)
    return deleted
