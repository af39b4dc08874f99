"""GET /videos/{id}: one of the caller's videos, with 15-minute signed downloads and a playback link once READY."""

from __future__ import annotations

from catalog import deps
from catalog.logic.views import video_details
from contracts.api import VideoDetails, VideoRef
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid, NotFound


@route(params=VideoRef, answers=VideoDetails, refuses=(Invalid, NotFound))
def handler(request: Request[None, VideoRef]) -> VideoDetails:
    """Status, metadata and (once READY) signed links of one of my videos; another user's video is 404."""
    return video_details(request.sub, request.params.id, deps.get_video())
