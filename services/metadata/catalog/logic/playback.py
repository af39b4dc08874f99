"""Playback of a private HLS package through signed playlists.

The owner's GET /videos/{id} gives a grant: an unguessable id that names one video's stream
package until it expires (the owner's live grant of the video while more than half its life is left,
else a new one). GET /playback/{grant}/{path} (no token: a player, Safari's native HLS
among them, cannot send one) serves that package's playlists and thumbnails track with every URI
rewritten: a child playlist becomes the same route, every media file (init and segments, a subtitle
track's WebVTT, sprite images) a signed URL of that object, valid until the grant ends. Segments are then fetched from
S3 or the CDN directly: no function runs per segment. Every link is on the API's configured URL, never on
a host the request named.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from catalog.logic.items import VideoItem
from catalog.logic.playlists import UnsafeUri, package_path, rewrite_playlist, rewrite_track
from catalog.logic.ports import CatalogReader, Grant, GrantStore, MediaSigner, PackageFiles, Status
from contracts.api import PlaybackView
from contracts.events import utc_now
from contracts.keys import video_prefix
from lambdakit.refusals import NotFound

# Twice the video's length plus an hour: the owner can pause, seek back and watch it all again, and open the
# link a while after asking for it; at least 2 h, so a short clip's link outlasts a break; at most 24 h, so a
# leaked link dies within a day (the longest video, MAX_DURATION 4 h, gets 9 h: start to end, twice).
GRANT_MIN = timedelta(hours=2)
GRANT_MAX = timedelta(hours=24)
GRANT_SLACK = timedelta(hours=1)
# A share link's grant (anyone's: see logic/sharing.py) lasts this long, and so do the signed URLs in its
# playlists and its poster's link: a switch to private or a delete stops someone already watching within this
# (new requests at once). The player asks the share route again for fresh links.
SHARED_LINK_LIFETIME = timedelta(minutes=10)
GRANT_BYTES = 32  # secrets.token_urlsafe(32): 256 random bits, 43 characters
GRANT_ID_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # what token_urlsafe(32) makes, and nothing else of the table
ISSUE_ATTEMPTS = 3  # a request that loses the race to issue a grant takes the winner's (one more read)
PLAYLIST = "application/vnd.apple.mpegurl"
TRACK = "text/vtt"
MEDIA_SUFFIXES = (".mp4", ".m4s", ".m4a", ".m4v", ".jpg", ".jpeg", ".png", ".webp")
# A playlist's WebVTT segment (a subtitle track) holds no URI to rewrite: it is signed like a media file. The
# thumbnails track, which names sprite images, is served by the route instead (and names no .vtt).
SEGMENT_SUFFIXES = (*MEDIA_SUFFIXES, ".vtt")
NOT_FOUND = "not found"  # one answer for an unknown, expired or foreign grant and any path it does not serve
GROWING_MAX_AGE = 1  # seconds a player may keep a playlist of a video still being encoded


def grant_lifetime(duration_seconds: float | None) -> timedelta:
    wanted = 2 * timedelta(seconds=max(0.0, duration_seconds or 0.0)) + GRANT_SLACK
    return min(GRANT_MAX, max(GRANT_MIN, wanted))


class GrantContention(Exception):
    """Another request issued the owner's grant of the video first, ISSUE_ATTEMPTS times in a row (a 500)."""


@dataclass
class GrantDeps:
    grants: GrantStore
    api_url: str  # the API's public URL (configured: never the request's Host), no trailing /
    clock: Callable[[], datetime] = utc_now
    token: Callable[[], str] = field(default=lambda: secrets.token_urlsafe(GRANT_BYTES))


@dataclass
class PlaybackDeps:
    grants: GrantStore
    files: PackageFiles
    signer: MediaSigner
    videos: CatalogReader  # the grant's video: deleted (or no longer the grant owner's), it plays no more
    api_url: str
    clock: Callable[[], datetime] = utc_now


@dataclass(frozen=True)
class PlaybackFile:
    text: str
    media_type: str
    max_age: int  # seconds a client may keep it: never past the grant (its signed URLs end with it)


def _in_package(stream_prefix: str, key: str) -> str | None:
    return package_path(key[len(stream_prefix) :]) if key.startswith(stream_prefix) else None


def _reusable(live: Grant, wanted: Grant, now: datetime) -> bool:
    """The owner's live grant of this very package, with more than half its life left."""
    if live.issued_at is None:
        return False
    same = (live.owner, live.video_id, live.bucket, live.prefix, live.master, live.share_key) == (
        wanted.owner, wanted.video_id, wanted.bucket, wanted.prefix, wanted.master, wanted.share_key,
    )  # fmt: skip
    return same and live.expires_at - now > (live.expires_at - live.issued_at) / 2


def _grant(wanted: Grant, now: datetime, deps: GrantDeps) -> Grant:
    """The owner's live grant of the package while more than half its life is left (one read, nothing written);
    else `wanted`, issued as the live one; or the grant a concurrent request issued first."""
    for _ in range(ISSUE_ATTEMPTS):
        live = deps.grants.live(wanted.owner, wanted.video_id, shared=wanted.share_key is not None)
        if live is not None and _reusable(live, wanted, now):
            return live
        if deps.grants.issue(wanted, replacing=live):
            return wanted
    raise GrantContention(f"the grant of {wanted.video_id} was issued by others {ISSUE_ATTEMPTS} times")


def _package(item: VideoItem) -> tuple[str, str, float | None] | None:
    """(bucket, master key, duration) of what plays: the finished stream once READY, the growing one while
    PROCESSING (the same keys: a grant of one plays the other)."""
    if item.status == Status.READY and item.stream:
        stream = item.stream
        return stream.bucket, stream.master, item.duration_seconds or stream.duration_seconds
    if item.status == Status.PROCESSING and item.early_stream and item.playable_seconds:
        early = item.early_stream
        return early.bucket, early.master, early.duration_seconds
    return None


def playback_for(item: VideoItem, deps: GrantDeps, *, share_key: str | None = None) -> PlaybackView | None:
    """The links of the owner's grant (with a `share_key`: the share link's, for anyone, shorter-lived), for a
    video that plays (READY, or PROCESSING with a growing stream: see `_package`) whose HLS package lies in its own
    folder; else None.

    One live grant per owner and video, reused while more than half its life is left: however often the page
    asks, a new grant is written at most once per half lifetime (an hour at least), and a link given has more
    than half a lifetime still to run. The old grant plays on to its end; DynamoDB's TTL removes it.
    """
    package, video_id = _package(item), item.video_id
    bucket, master, duration = package or ("", "", None)
    prefix = master.rsplit("/", 1)[0] + "/" if "/" in master else ""
    in_own_folder = prefix.startswith(video_prefix(video_id)) and package_path(prefix.rstrip("/")) is not None
    if package is None or item.owner is None or not in_own_folder or not _in_package(prefix, master):
        return None
    now = deps.clock().replace(microsecond=0)  # whole seconds, as the table keeps them: a reused grant reads the same
    wanted = Grant(
        grant_id=deps.token(),
        video_id=video_id,
        owner=item.owner,
        bucket=bucket,
        prefix=prefix,
        master=master[len(prefix) :],
        expires_at=now + (SHARED_LINK_LIFETIME if share_key else grant_lifetime(duration)),
        issued_at=now,
        share_key=share_key,
    )
    grant = _grant(wanted, now, deps)
    route = f"{deps.api_url}/playback/{grant.grant_id}/"
    thumbnails = item.thumbnails if item.status == Status.READY else None  # (made when the stream is finished)
    track = _in_package(prefix, thumbnails.track) if thumbnails and thumbnails.bucket == grant.bucket else None
    return PlaybackView(
        hls=route + grant.master,
        thumbnails=route + track if track else None,
        expires_at=grant.expires_at.isoformat(),
    )


def playable(grant: Grant, now: datetime, videos: CatalogReader) -> VideoItem | None:
    """The grant's video, if the grant has not expired (DynamoDB's TTL removes items late) and the video is still
    its owner's and plays: READY, or PROCESSING (its growing stream). A FAILED one plays no more: a player
    following its growing stream gets an end, not a stream that never grows. A share link's grant also needs the
    video still shared with that key: private again, or given a new link, it plays no more."""
    if grant.expires_at <= now:
        return None
    video = videos.get(grant.video_id)
    if video is None or video.owner != grant.owner or video.status not in (Status.READY, Status.PROCESSING):
        return None
    if grant.share_key is not None and (video.share_id is None or video.share_key != grant.share_key):
        return None
    return video


def playback_file(grant_id: str, path: str, deps: PlaybackDeps) -> PlaybackFile:
    """A playlist or thumbnails track of the grant's package, its URIs rewritten into links that end with it.

    A deleted video's grants end with the delete: its playlists are refused from then on (its segments end when
    its files are removed, and on the CDN when the transcode service's invalidation of them completes)."""
    path = package_path(path) or ""
    if not GRANT_ID_RE.fullmatch(grant_id) or not path.endswith((".m3u8", ".vtt")):
        raise NotFound(NOT_FOUND)
    grant, now = deps.grants.get(grant_id), deps.clock()
    video = playable(grant, now, deps.videos) if grant is not None else None
    if grant is None or video is None:
        raise NotFound(NOT_FOUND)
    text = deps.files.text(grant.bucket, grant.prefix + path)
    if text is None:
        raise NotFound(NOT_FOUND)
    seconds = math.floor((grant.expires_at - now).total_seconds())
    # While the video is encoded, its playlists change (they grow; then the master names every rung): a player
    # must fetch them again, not take them from its cache. Their links still last as long as the grant.
    fresh = video.status != Status.READY
    signed: dict[str, str] = {}

    def link(child: str) -> str:
        if child.endswith(".m3u8"):
            return f"{deps.api_url}/playback/{grant.grant_id}/{child}"
        if not child.endswith(SEGMENT_SUFFIXES if path.endswith(".m3u8") else MEDIA_SUFFIXES):
            raise UnsafeUri(child)
        if child not in signed:  # a chunk file is named once per segment: sign it once
            signed[child] = deps.signer.url(grant.bucket, grant.prefix + child, max(1, seconds))
        return signed[child]

    try:
        if path.endswith(".vtt"):
            return PlaybackFile(rewrite_track(text, path, link), TRACK, GROWING_MAX_AGE if fresh else seconds)
        return PlaybackFile(rewrite_playlist(text, path, link), PLAYLIST, GROWING_MAX_AGE if fresh else seconds)
    except UnsafeUri:
        raise NotFound(NOT_FOUND) from None
