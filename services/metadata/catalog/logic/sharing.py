"""Sharing: a video's title and description, who may watch it, its share link and the public page.

A video is private (its owner only, the default), unlisted (anyone with its share link) or public (that, and
listed on the public page). Its share id is the random key kept in its item followed by its id: the key is the
authority (compared in constant time), the id finds the item in one strongly consistent read, so a switch to
private or a delete refuses every new request at once. The key is kept while the video is private, so making it
unlisted again revives the link people already have; `new_share_link` replaces the key, and the old link dies
for good. What anyone sees of the owner is the display name they chose (DisplayNameChanged), never a sub or an
e-mail.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from html import escape
from typing import Any
from urllib.parse import urlsplit

from catalog.logic.cursors import decode_index_cursor, encode_cursor
from catalog.logic.items import VideoItem
from catalog.logic.playback import SHARED_LINK_LIFETIME, GrantDeps, playback_for
from catalog.logic.ports import CatalogStore, OwnerNames, PublicIndex, Status, UrlSigner
from catalog.logic.views import DetailsDeps, duration_of, playable_seconds_of, poster_view, video_details
from contracts import DisplayNameChanged, UploadStarted
from contracts.api import (
    SHARE_ID_RE,
    SHARE_KEY_LENGTH,
    OEmbed,
    OEmbedQuery,
    PublicPage,
    PublicQuery,
    PublicVideo,
    SharedVideo,
    SignedFile,
    ThumbnailsView,
    UpdateVideo,
    VideoDetails,
    Visibility,
)
from contracts.keys import VIDEO_ID_RE
from lambdakit.refusals import Invalid, NotFound

SHARE_KEY_BYTES = 16  # secrets.token_urlsafe(16): 128 random bits, SHARE_KEY_LENGTH characters
LISTED = "listed"  # the `public` index's partition key: set on public videos only (a sparse index)
PUBLIC_PARTITION = "public"
NOT_FOUND = "not found"  # one answer for an unknown, private, deleted or re-keyed video


class TitleRank(IntEnum):
    """Who set a video's title: a lower rank never overwrites a higher one (items without a rank: FILE_KEY)."""

    FILE_KEY = 1  # the made-safe file name in the upload key
    AS_TYPED = 2  # the file name as the uploader typed it (UploadStarted)
    OWNER = 3  # PATCH /videos/{id}


@dataclass
class ShareDeps:
    """What the public routes need: the catalog, the owners' names, and signed links that end soon."""

    store: CatalogStore
    names: OwnerNames
    signer: UrlSigner
    grants: GrantDeps


@dataclass
class EmbedDeps:
    store: CatalogStore
    names: OwnerNames
    website: str  # the website's URL (its share and embed pages), no trailing /; empty: none configured


@dataclass
class PublicDeps:
    index: PublicIndex
    names: OwnerNames
    signer: UrlSigner


@dataclass
class UpdateDeps:
    store: CatalogStore
    details: DetailsDeps  # the answer: the video as GET /videos/{id} shows it
    new_key: Callable[[], str] = field(default=lambda: secrets.token_urlsafe(SHARE_KEY_BYTES))


def record_title(event: UploadStarted, store: CatalogStore) -> bool:
    """The file name as typed becomes the video's title, unless its owner already chose one; False if not set."""
    return store.name(event.video_id, event.owner, event.title, int(TitleRank.AS_TYPED))


def record_owner_name(event: DisplayNameChanged, names: OwnerNames) -> bool:
    return names.remember(event.sub, event.display_name, event.version)


def _title(text: str) -> str:
    title = text.strip()  # (inside, kept as typed)
    if not title:
        raise Invalid("title: must not be only spaces")
    return title


def update_video(owner: str, video_id: str, change: UpdateVideo, deps: UpdateDeps) -> VideoDetails:
    """Apply PATCH /videos/{id} to the owner's video (a write conditional on it being theirs and not deleted), and
    show it as GET /videos/{id} does."""
    if not VIDEO_ID_RE.fullmatch(video_id):
        raise Invalid("malformed video id")
    values: dict[str, Any] = {}
    first: dict[str, Any] = {}
    remove: list[str] = []
    if change.title is not None:
        values |= {"title": _title(change.title), "title_rank": int(TitleRank.OWNER)}
    if change.description is not None:
        values["description"] = change.description.strip()
    if change.new_share_link:
        values["share_key"] = deps.new_key()
    elif change.visibility not in (None, Visibility.PRIVATE):
        first["share_key"] = deps.new_key()  # the key it had, if any: the link people have works again
    if change.visibility is not None:
        values["visibility"] = change.visibility.value
        if change.visibility == Visibility.PUBLIC:
            values[LISTED] = PUBLIC_PARTITION
        else:
            remove.append(LISTED)
    if not deps.store.share(video_id, owner, values, first_values=first, remove=remove):
        raise NotFound("video not found")
    return video_details(owner, video_id, deps.details)


def _share_key(share_id: str) -> tuple[str, str] | None:
    if not SHARE_ID_RE.fullmatch(share_id):
        return None
    return share_id[:SHARE_KEY_LENGTH], share_id[SHARE_KEY_LENGTH:]


def shared_item(store: CatalogStore, share_id: str) -> VideoItem:
    """The video a share id opens: unlisted or public, not deleted, with that very key; else NotFound."""
    parts = _share_key(share_id)
    item = store.get(parts[1]) if parts else None
    if (
        parts is None
        or item is None
        or item.deleted
        or item.status is None
        or item.share_id is None
        or not hmac.compare_digest(item.share_id, share_id)
    ):
        raise NotFound(NOT_FOUND)
    return item


def _poster(signer: UrlSigner, item: VideoItem) -> SignedFile | None:
    """A READY video's poster, its link as short-lived as the share link's."""
    ready = item.status == Status.READY
    return poster_view(signer, item.video_id, ready, item.poster, SHARED_LINK_LIFETIME) if ready else None


def shared_video(share_id: str, deps: ShareDeps) -> SharedVideo:
    """An unlisted or public video as anyone sees it: its title, description, owner's chosen name, date, poster,
    and links that play it (the share link's grant: they end within SHARED_LINK_LIFETIME)."""
    item = shared_item(deps.store, share_id)
    owner = item.owner or ""
    thumbnails = item.thumbnails if item.status == Status.READY else None
    return SharedVideo(
        share_id=share_id,
        title=item.title,
        description=item.description,
        owner_name=deps.names.names({owner}).get(owner) if owner else None,
        created_at=item.created_at,
        status=item.status or Status.UPLOADED,
        duration_seconds=duration_of(item),
        playable_seconds=playable_seconds_of(item),
        poster=_poster(deps.signer, item),
        thumbnails=ThumbnailsView(
            interval_seconds=thumbnails.interval_seconds, width=thumbnails.width, height=thumbnails.height
        )
        if thumbnails
        else None,
        playback=playback_for(item, deps.grants, share_key=item.share_key),
    )


def public_videos(query: PublicQuery, deps: PublicDeps) -> PublicPage:
    """Everyone's public videos that play (READY), newest first, a page at a time."""
    start = decode_index_cursor(query.cursor, LISTED, PUBLIC_PARTITION)
    items, last_key = deps.index.page(query.limit, start)
    shown = [
        item for item in items if item.status == Status.READY and item.visibility == Visibility.PUBLIC and item.share_id
    ]
    names = deps.names.names({item.owner for item in shown if item.owner})
    return PublicPage(
        videos=[
            PublicVideo(
                share_id=item.share_id or "",
                title=item.title,
                owner_name=names.get(item.owner or ""),
                created_at=item.created_at,
                duration_seconds=duration_of(item),
                poster=_poster(deps.signer, item),
            )
            for item in shown
        ],
        next_cursor=encode_cursor(last_key),
    )


PROVIDER = "24-Hour Video"
EMBED_WIDTH = 640  # an embed's width when the consumer gives no maximum
OEMBED_CACHE_SECONDS = 300  # a consumer may keep an answer this long: a switch to private reaches it within that


def _frame(item: VideoItem, maxwidth: int | None, maxheight: int | None) -> tuple[int, int]:
    """The player's size: the video's shape (16:9 when unknown), EMBED_WIDTH wide, within the consumer's box."""
    video = item.metadata.video if item.metadata else None
    ratio = (video.width / video.height) if video and video.width and video.height else 16 / 9
    width = min(EMBED_WIDTH, maxwidth or EMBED_WIDTH)
    height = round(width / ratio)
    if maxheight and height > maxheight:
        height, width = maxheight, round(maxheight * ratio)
    return max(1, width), max(1, height)


def oembed(query: OEmbedQuery, deps: EmbedDeps) -> OEmbed:
    """oEmbed 1.0 for a share page's address: a `video` whose html is an <iframe> of its embed page (every value
    in it escaped: a title is text in an attribute, never markup)."""
    page, site = urlsplit(query.url), urlsplit(deps.website)
    if not deps.website or (page.scheme, page.netloc.lower()) != (site.scheme, site.netloc.lower()):
        raise NotFound(NOT_FOUND)
    share_id = page.path.removeprefix(site.path.rstrip("/")).removeprefix("/v/")
    if share_id == page.path or page.query or page.fragment:
        raise NotFound(NOT_FOUND)
    item = shared_item(deps.store, share_id)
    width, height = _frame(item, query.maxwidth, query.maxheight)
    source = f"{deps.website}/embed/{share_id}"
    title = item.title or "video"
    html = (
        f'<iframe src="{escape(source)}" width="{width}" height="{height}" title="{escape(title)}" '
        'frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>'
    )
    owner = item.owner or ""
    return OEmbed(
        provider_name=PROVIDER,
        provider_url=deps.website + "/",
        title=item.title,
        author_name=deps.names.names({owner}).get(owner) if owner else None,
        html=html,
        width=width,
        height=height,
        cache_age=OEMBED_CACHE_SECONDS,
    )
