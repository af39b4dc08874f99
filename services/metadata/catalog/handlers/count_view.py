"""POST /views: a playback session started; its video's view count goes up once (a replayed beacon: not again).

Public (no authorizer): the player's beacon (navigator.sendBeacon) sends no token; the playback grant it names is the
authority. Always 204: whether it counted is nobody's business but the count's.
"""

from __future__ import annotations

from catalog import deps
from catalog.logic.audience import count_view
from catalog.observability import logger
from contracts.api import ViewStarted
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid


@route(status=204, body=ViewStarted, refuses=(Invalid,), public=True)
def handler(request: Request[ViewStarted, None]) -> None:
    """Tell that a playback session really started (its first frame), once per session."""
    counted = count_view(request.body, deps.count_view())
    logger.info("view counted" if counted else "not counted (a repeat, or a grant that no longer plays)")
