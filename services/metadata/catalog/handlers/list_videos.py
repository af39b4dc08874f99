"""GET /videos: the signed-in caller's own videos, newest first, a page at a time."""

from __future__ import annotations

from catalog import deps
from catalog.logic.views import list_videos
from contracts.api import PageQuery, VideoPage
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid


@route(params=PageQuery, answers=VideoPage, refuses=(Invalid,))
def handler(request: Request[None, PageQuery]) -> VideoPage:
    """My videos, newest first; pass `next_cursor` back as `cursor` for the next page."""
    return list_videos(request.sub, request.params, deps.list_videos())
