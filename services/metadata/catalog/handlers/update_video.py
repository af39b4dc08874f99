"""PATCH /videos/{id}: the caller's video's title, description and who may watch it."""

from __future__ import annotations

from catalog import deps
from catalog.logic.sharing import update_video
from contracts.api import UpdateVideo, VideoDetails, VideoRef
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid, NotFound


@route(body=UpdateVideo, params=VideoRef, answers=VideoDetails, refuses=(Invalid, NotFound))
def handler(request: Request[UpdateVideo, VideoRef]) -> VideoDetails:
    """Rename one of my videos, describe it, or share it (unlisted, public) or stop sharing it (private)."""
    return update_video(request.sub, request.params.id, request.body, deps.update_video())
