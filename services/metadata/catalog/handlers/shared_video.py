"""GET /shared/{share_id}: an unlisted or public video, for anyone (no sign-in): the share page's data.

Public (no authorizer): the share id is the authority; every wrong one is the same 404.
"""

from __future__ import annotations

from catalog import deps
from catalog.logic.sharing import shared_video
from contracts.api import SharedVideo, ShareRef
from lambdakit.http import Request, route
from lambdakit.refusals import NotFound


@route(params=ShareRef, answers=SharedVideo, refuses=(NotFound,), public=True)
def handler(request: Request[None, ShareRef]) -> SharedVideo:
    """A video someone shared: its title, description, owner's chosen name, date and links that play it."""
    return shared_video(request.params.share_id, deps.get_shared_video())
