"""A user's profile: what their token proved, and what they chose (a display name, e-mail about their videos).

Turning the e-mail on or off is told to the notify service as a MailPreferenceChanged, with the address the
verified token gave: the only address mail ever goes to. Setting the display name is told as a
DisplayNameChanged: the catalog shows it (and nothing else of the user) on their shared and public videos.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from contracts import AnyVideoEvent, DisplayNameChanged, MailPreferenceChanged
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
    name_version: int = 0  # raised by every write of display_name


class Profiles(Protocol):
    def get(self, sub: str) -> Stored: ...

    def update(self, sub: str, *, display_name: str | None, email_notifications: bool | None) -> Stored:
        """Set what is not None; a write of display_name raises name_version, of email_notifications mail_version.
        The profile as now stored."""
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
    """Apply PUT /me; a change of the e-mail preference or the display name is published after it is stored (a
    failed publish is a 500, and the user's retry publishes again with a higher version: saving the same name
    again also tells it again, which is how a name set before the catalog listened reaches it)."""
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
    if name is not None:
        deps.publisher.publish(
            DisplayNameChanged(
                correlation_id=correlation_id, sub=caller.sub, display_name=name, version=stored.name_version
            )
        )
    return _profile(caller, stored)
