"""Counting views: one per playback session that really started, as its player tells it (POST /views, a beacon
sent at the first frame, so a page that loads but never plays counts nothing).

The beacon names the grant of the playback link the player plays (the proof that it may play the video: a live
grant of a video that still plays for it, the checks a playlist request gets) and a session id the player made up
for this session and keeps nowhere. The pair is remembered until a day after the grant ends, and a beacon whose
session was counted already counts nothing: a replayed beacon, a retry, a second tab of the same page. Nothing
about the viewer is stored: no address, no account, no cookie.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from catalog.logic.playback import GRANT_ID_RE, playable
from catalog.logic.ports import CatalogReader, GrantStore
from contracts.api import ViewStarted
from contracts.events import utc_now

REMEMBERED = timedelta(days=1)  # past the grant's end: by then the grant itself refuses the beacon


class ViewCounter(Protocol):
    def count(self, video_id: str, session: str, *, remember_until: datetime) -> bool:
        """One more view of the video, and the session remembered until then, at once; False (nothing counted)
        if the session was counted already or the video is gone."""
        ...


@dataclass
class ViewDeps:
    grants: GrantStore
    videos: CatalogReader
    counter: ViewCounter
    clock: Callable[[], datetime] = utc_now


def count_view(beacon: ViewStarted, deps: ViewDeps) -> bool:
    """Count the session's view if its grant still plays the video; False if it counted nothing."""
    if not GRANT_ID_RE.fullmatch(beacon.grant):
        return False
    grant, now = deps.grants.get(beacon.grant), deps.clock()
    if grant is None or playable(grant, now, deps.videos) is None:
        return False
    return deps.counter.count(grant.video_id, beacon.session, remember_until=grant.expires_at + REMEMBERED)
