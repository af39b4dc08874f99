"""A user's profile: what their token proved, and what they chose (a display name, e-mail about their videos).

Turning the e-mail on or off is told to the notify service as a MailPreferenceChanged, with the address the
verified token gave: the only address mail ever goes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from contracts import AnyVideoEvent, MailPreferenceChanged
from contracts.api import Profile, UpdateProfile
from lambdakit.refusals import Invalid


@dataclass(frozen=True)
class Caller:
    """Who is asking, as the authorizer verified it."""

    sub: str
    email: str | None
    username: str | None


@dataclass(frozen=True)
class Stored:
    display_name: str | None = None
    email_notifications: bool = False
    mail_version: int = 0  # raised by every change of email_notifications


class Profiles(Protocol):
    def get(self, sub: str) -> Stored: ...

    def update(self, sub: str, *, display_name: str | None, email_notifications: bool | None) -> Stored:
        """Set what is not None; a change of email_notifications raises mail_version. The profile as now stored."""
        ...


class Publisher(Protocol):
    def publish(self, event: AnyVideoEvent) -> None: ...


@dataclass(frozen=True)
class UpdateDeps:
    profiles: Profiles
    publisher: Publisher


def _profile(caller: Caller, stored: Stored) -> Profile:
    return Profile(
        sub=caller.sub,
        email=caller.email,
        username=caller.username,
        display_name=stored.display_name,
        email_notifications=stored.email_notifications,
    )


def profile_of(caller: Caller, profiles: Profiles) -> Profile:
    return _profile(caller, profiles.get(caller.sub))


def update_profile(caller: Caller, update: UpdateProfile, deps: UpdateDeps, *, correlation_id: str) -> Profile:
    """Apply PUT /me; a change of the e-mail preference is published after it is stored (a failed publish is a
    500, and the user's retry publishes again with a higher version)."""
    name = update.display_name.strip() if update.display_name is not None else None
    if name == "":
        raise Invalid("display_name: must not be only spaces")
    if update.email_notifications and not caller.email:
        raise Invalid("email_notifications: your sign-in gives no verified e-mail address to write to")
    stored = deps.profiles.update(caller.sub, display_name=name, email_notifications=update.email_notifications)
    if update.email_notifications is not None:
        deps.publisher.publish(
            MailPreferenceChanged(
                correlation_id=correlation_id,
                sub=caller.sub,
                email=caller.email,
                enabled=update.email_notifications,
                version=stored.mail_version,
            )
        )
    return _profile(caller, stored)
