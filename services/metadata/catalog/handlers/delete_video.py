"""DELETE /videos/{id}: announce VideoDeleted, then keep only a tombstone of the caller's video."""

from __future__ import annotations

from catalog import deps
from catalog.logic.views import delete_video
from contracts.api import VideoRef
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid, NotFound


@route(status=204, params=VideoRef, refuses=(Invalid, NotFound))
def handler(request: Request[None, VideoRef]) -> None:
    """Delete one of my videos: its files go everywhere, and no late event brings it back."""
    delete_video(
        request.sub, request.params.id, correlation_id=request.request_id or request.params.id, deps=deps.delete_video()
    )
