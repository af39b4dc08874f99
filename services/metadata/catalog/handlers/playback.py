"""GET /playback/{grant}/{path+}: a playlist or thumbnails track of a granted stream package, with signed links.

Public (no authorizer): the grant in the path is the authority, as a player cannot send a token.
"""

from __future__ import annotations

from catalog import deps
from catalog.logic.playback import PLAYLIST, TRACK, playback_file
from contracts.api import PlaybackRef
from lambdakit.http import Content, Request, route
from lambdakit.refusals import NotFound


@route(params=PlaybackRef, refuses=(NotFound,), public=True, media_types=(PLAYLIST, TRACK))
def handler(request: Request[None, PlaybackRef]) -> Content:
    """A playlist (or thumbnails track) of a video I was given a playback link for; any other path is 404."""
    file = playback_file(request.params.grant, request.params.path, deps.serve_playback())
    return Content(file.text, file.media_type, {"cache-control": f"private, max-age={file.max_age}"})
