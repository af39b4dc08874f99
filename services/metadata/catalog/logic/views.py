"""What the catalog API shows a user: only their own videos, with short-lived links once READY."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from catalog.logic.ports import CatalogStore, Publisher, Status
from contracts import SourceObject, VideoDeleted, stable_event_id
from contracts.api import Processing, RenditionView, SignedFile, VideoDetails, VideoPage, VideoSummary
from contracts.events import utc_now
from contracts.keys import VIDEO_ID_RE, video_prefix

URL_LIFETIME = timedelta(minutes=15)
MAX_PAGE = 50


class NotFound(Exception):
    pass


class BadRequest(Exception):
    pass


class OwnerIndex(Protocol):
    def page(self, owner: str, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], Any]: ...


class UrlSigner(Protocol):
    def url(self, bucket: str, key: str, expires_in: int) -> str: ...


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, owner: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        start = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise BadRequest("invalid cursor") from None
    if not isinstance(start, dict) or set(start) != {"video_id", "owner", "created_at"} or start["owner"] != owner:
        raise BadRequest("invalid cursor")
    return start


def page_size(limit: str | None, default: int = 20) -> int:
    if limit is None:
        return default
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(limit)


def list_videos(index: OwnerIndex, owner: str, *, limit: int, cursor: str | None) -> VideoPage:
    items, last_key = index.page(owner, limit, decode_cursor(cursor, owner))
    return VideoPage(
        videos=[
            VideoSummary(
                video_id=item["video_id"],
                title=item.get("title"),
                status=item.get("status", Status.UPLOADED),
                created_at=item.get("created_at"),
                duration_seconds=(item.get("metadata") or {}).get("duration_seconds"),
            )
            for item in items
        ],
        next_cursor=encode_cursor(last_key),
    )


def owned_item(store: CatalogStore, owner: str, video_id: str) -> dict[str, Any]:
    """The caller's own video; another user's video and an unknown id look the same: not found."""
    if not VIDEO_ID_RE.match(video_id):
        raise BadRequest("malformed video id")
    item = store.get(video_id)
    if not item or item.get("owner") != owner:
        raise NotFound(video_id)
    return item


def video_details(
    store: CatalogStore, signer: UrlSigner, owner: str, video_id: str, clock: Callable[[], datetime] = utc_now
) -> VideoDetails:
    item = owned_item(store, owner, video_id)
    ready = item.get("status") == Status.READY
    seconds = int(URL_LIFETIME.total_seconds())
    prefix = video_prefix(video_id)

    def signed(file: dict[str, Any]) -> str | None:
        # Only this video's own objects are ever signed.
        return signer.url(file["bucket"], file["key"], seconds) if ready and file["key"].startswith(prefix) else None

    renditions = [
        RenditionView(
            name=r["name"],
            url=signed(r),
            width=r.get("width"),
            height=r.get("height"),
            size_bytes=r.get("size_bytes"),
            metadata=r.get("metadata"),
        )
        for r in item.get("renditions", [])
    ]
    poster = item.get("poster")
    return VideoDetails(
        video_id=video_id,
        title=item.get("title"),
        status=item.get("status", Status.UPLOADED),
        created_at=item.get("created_at"),
        uploaded_at=item.get("uploaded_at"),
        ready_at=item.get("ready_at"),
        failure=item.get("failure"),
        metadata=item.get("metadata"),
        renditions=renditions,
        poster=SignedFile(
            url=signed(poster),
            width=poster.get("width"),
            height=poster.get("height"),
            size_bytes=poster.get("size_bytes"),
        )
        if poster
        else None,
        urls_expire_at=(clock() + URL_LIFETIME).isoformat() if ready else None,
        processing=Processing(
            transcode_started_at=(item.get("transcode") or {}).get("started_at"),
            transcoded_at=item.get("transcoded_at"),
            transcode_timings=(item.get("transcode") or {}).get("timings") or {},
            metadata_seconds=item.get("metadata_seconds"),
        ),
    )


def delete_video(
    store: CatalogStore, publisher: Publisher, owner: str, video_id: str, correlation_id: str
) -> VideoDeleted:
    """Announce the deletion, then remove the item: if removing fails, a retry announces again (same id)."""
    item = owned_item(store, owner, video_id)
    source = item.get("source")
    deleted = VideoDeleted(
        event_id=stable_event_id("VideoDeleted", video_id),
        correlation_id=correlation_id,
        video_id=video_id,
        owner=owner,
        source=SourceObject.model_validate(source) if source else None,
    )
    publisher.publish(deleted)
    store.delete(video_id, owner)
    return deleted
