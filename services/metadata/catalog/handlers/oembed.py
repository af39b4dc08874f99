"""GET /oembed?url={website}/v/{share_id}: oEmbed 1.0 (https://oembed.com), so that tools that speak it show the
player when a share link is pasted into them. Public (no authorizer), like the share page itself."""

from __future__ import annotations

from catalog import deps
from catalog.logic.sharing import oembed
from contracts.api import OEmbed, OEmbedQuery
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid, NotFound


@route(params=OEmbedQuery, answers=OEmbed, refuses=(Invalid, NotFound), public=True)
def handler(request: Request[None, OEmbedQuery]) -> OEmbed:
    """The embed of a shared video: an <iframe> of its embed page, its title and its owner's chosen name."""
    return oembed(request.params, deps.oembed())
