"""GET /me and PUT /me: the caller's verified claims and the display name they chose."""

from __future__ import annotations

from contracts.api import Profile, UpdateProfile
from identity import deps
from identity.logic.profiles import profile_of, rename
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid


@route(answers=Profile)
def get_handler(request: Request[None, None]) -> Profile:
    """Who I am: what my token proved, and my display name."""
    return profile_of(request.sub, request.email, request.username, deps.get_me())


@route(body=UpdateProfile, answers=Profile, refuses=(Invalid,))
def put_handler(request: Request[UpdateProfile, None]) -> Profile:
    """Change my display name (1 to 64 characters, no control characters)."""
    return rename(request.sub, request.email, request.username, request.body, deps.put_me())
