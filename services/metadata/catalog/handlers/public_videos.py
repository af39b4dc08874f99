"""GET /public/videos: everyone's public videos, newest first, a page at a time, for anyone (no sign-in)."""

from __future__ import annotations

from catalog import deps
from catalog.logic.sharing import public_videos
from contracts.api import PublicPage, PublicQuery
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid


@route(params=PublicQuery, answers=PublicPage, refuses=(Invalid,), public=True)
def handler(request: Request[None, PublicQuery]) -> PublicPage:
    """The latest public videos; pass `next_cursor` back as `cursor` for the next page."""
    return public_videos(request.params, deps.list_public_videos())
