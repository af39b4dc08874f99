"""GET /me and PUT /me: the caller's verified claims, the display name they chose and their e-mail preference."""

from __future__ import annotations

from typing import Any

from contracts.api import Profile, UpdateProfile
from identity import deps
from identity.logic.profiles import Caller, profile_of, update_profile
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid


def _caller(request: Request[Any, None]) -> Caller:
    return Caller(sub=request.sub, email=request.email, username=request.username)


@route(answers=Profile)
def get_handler(request: Request[None, None]) -> Profile:
    """Who I am: what my token proved, my display name, and whether I am e-mailed about my videos."""
    return profile_of(_caller(request), deps.get_me())


@route(body=UpdateProfile, answers=Profile, refuses=(Invalid,))
def put_handler(request: Request[UpdateProfile, None]) -> Profile:
    """Change my display name (1 to 64 characters, no control or format characters) and/or my e-mail preference."""
    correlation_id = request.request_id or f"me-{request.sub}"
    return update_profile(_caller(request), request.body, deps.put_me(), correlation_id=correlation_id)
