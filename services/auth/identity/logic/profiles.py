"""A user's profile: what their token proved, and the display name they chose."""

from __future__ import annotations

from typing import Protocol

from contracts.api import Profile, UpdateProfile
from lambdakit.refusals import Invalid


class Profiles(Protocol):
    def display_name(self, sub: str) -> str | None: ...

    def set_display_name(self, sub: str, name: str) -> None: ...


def profile_of(sub: str, email: str | None, username: str | None, profiles: Profiles) -> Profile:
    return Profile(sub=sub, email=email, username=username, display_name=profiles.display_name(sub))


def rename(sub: str, email: str | None, username: str | None, update: UpdateProfile, profiles: Profiles) -> Profile:
    name = update.display_name.strip()
    if not name:
        raise Invalid("display_name: must not be only spaces")
    profiles.set_display_name(sub, name)
    return Profile(sub=sub, email=email, username=username, display_name=name)
