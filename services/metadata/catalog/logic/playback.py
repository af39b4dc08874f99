"""Playback of a private HLS package through signed playlists.

The owner's GET /videos/{id} mints a grant: an unguessable id that names one video's stream
package until it expires. GET /playback/{grant}/{path} (no token: a player, Safari's native HLS
among them, cannot send one) serves that package's playlists and thumbnails track with every URI
rewritten: a child playlist becomes the same route, every media file (init and segments, a subtitle
track's WebVTT, sprite images) a signed URL of that object, valid until the grant ends. Segments are then fetched from
S3 or the CDN directly: no function runs per segment.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from catalog.logic.items import VideoItem
from catalog.logic.playlists import UnsafeUri, package_path, rewrite_playlist, rewrite_track
from catalog.logic.ports import Grant, GrantStore, MediaSigner, PackageFiles
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
GRANT_BYTES = 32  # secrets.token_urlsafe(32): 256 random bits, 43 characters
PLAYLIST = "application/vnd.apple.mpegurl"
TRACK = "text/vtt"
MEDIA_SUFFIXES = (".mp4", ".m4s", ".m4a", ".m4v", ".jpg", ".jpeg", ".png", ".webp")
# A playlist's WebVTT segment (a subtitle track) holds no URI to rewrite: it is signed like a media file. The
# thumbnails track, which names sprite images, is served by the route instead (and names no .vtt).
SEGMENT_SUFFIXES = (*MEDIA_SUFFIXES, ".vtt")
NOT_FOUND = "not found"  # one answer for an unknown, expired or foreign grant and any path it does not serve


def grant_lifetime(duration_seconds: float | None) -> timedelta:
    wanted = 2 * timedelta(seconds=max(0.0, duration_seconds or 0.0)) + GRANT_SLACK
    return min(GRANT_MAX, max(GRANT_MIN, wanted))


@dataclass
class GrantDeps:
    grants: GrantStore
    clock: Callable[[], datetime] = utc_now
    token: Callable[[], str] = field(default=lambda: secrets.token_urlsafe(GRANT_BYTES))


@dataclass
class PlaybackDeps:
    grants: GrantStore
    files: PackageFiles
    signer: MediaSigner
    clock: Callable[[], datetime] = utc_now


@dataclass(frozen=True)
class PlaybackFile:
    text: str
    media_type: str
    max_age: int  # seconds a client may keep it: never past the grant (its signed URLs end with it)


def _in_package(stream_prefix: str, key: str) -> str | None:
    return package_path(key[len(stream_prefix) :]) if key.startswith(stream_prefix) else None


def playback_for(item: VideoItem, base_url: str, deps: GrantDeps) -> PlaybackView | None:
    """A new grant and its links, for a READY video whose HLS package lies in its own folder; else None.

    A grant per request (not one reused): a fresh link always has its whole lifetime, and needs no index of
    grants by video; each is one small item that DynamoDB's TTL removes.
    """
    stream, video_id = item.stream, item.video_id
    master = stream.master if stream else ""
    prefix = master.rsplit("/", 1)[0] + "/" if "/" in master else ""
    in_own_folder = prefix.startswith(video_prefix(video_id)) and package_path(prefix.rstrip("/")) is not None
    if stream is None or item.owner is None or not base_url or not in_own_folder or not _in_package(prefix, master):
        return None
    now = deps.clock()
    grant = Grant(
        grant_id=deps.token(),
        video_id=video_id,
        owner=item.owner,
        bucket=stream.bucket,
        prefix=prefix,
        master=master[len(prefix) :],
        expires_at=now + grant_lifetime(item.duration_seconds or stream.duration_seconds),
    )
    deps.grants.put(grant)
    route = f"{base_url}/playback/{grant.grant_id}/"
    thumbnails = item.thumbnails
    track = _in_package(prefix, thumbnails.track) if thumbnails and thumbnails.bucket == grant.bucket else None
    return PlaybackView(
        hls=route + grant.master,
        thumbnails=route + track if track else None,
        expires_at=grant.expires_at.isoformat(),
    )


def playback_file(grant_id: str, path: str, base_url: str, deps: PlaybackDeps) -> PlaybackFile:
    """A playlist or thumbnails track of the grant's package, its URIs rewritten into links that end with it."""
    grant = deps.grants.get(grant_id) if len(grant_id) <= 64 else None
    now = deps.clock()
    path = package_path(path) or ""
    if grant is None or grant.expires_at <= now or not path.endswith((".m3u8", ".vtt")):
        raise NotFound(NOT_FOUND)  # DynamoDB's TTL removes items late: an expired grant is refused here
    text = deps.files.text(grant.bucket, grant.prefix + path)
    if text is None:
        raise NotFound(NOT_FOUND)
    seconds = math.floor((grant.expires_at - now).total_seconds())
    signed: dict[str, str] = {}

    def link(child: str) -> str:
        if child.endswith(".m3u8"):
            return f"{base_url}/playback/{grant.grant_id}/{child}"
        if not child.endswith(SEGMENT_SUFFIXES if path.endswith(".m3u8") else MEDIA_SUFFIXES):
            raise UnsafeUri(child)
        if child not in signed:  # a chunk file is named once per segment: sign it once
            signed[child] = deps.signer.url(grant.bucket, grant.prefix + child, max(1, seconds))
        return signed[child]

    try:
        if path.endswith(".vtt"):
            return PlaybackFile(rewrite_track(text, path, link), TRACK, seconds)
        return PlaybackFile(rewrite_playlist(text, path, link), PLAYLIST, seconds)
    except UnsafeUri:
        raise NotFound(NOT_FOUND) from None
