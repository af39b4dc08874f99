"""Tell the uploader, by e-mail, when a video of theirs is READY (with a link to watch it) or FAILED (why).

Only users who turned it on in their profile, only at the address their verified sign-in gave (both arrive as
MailPreferenceChanged from the auth service, applied by `version` so a late event never undoes a newer one).
One message per final status: the handler runs `tell_owner` once per (video, status) through an idempotency
record, so a duplicate or replayed event sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from contracts import MailPreferenceChanged, VideoStatus, VideoStatusChanged, VideoStatusChangedV1
from contracts.readable import Readable, failure_words, one_line
from lambdakit.metrics import MAILS_SENT, Meter, NoMeter

FINAL = (VideoStatus.READY, VideoStatus.FAILED)


@dataclass(frozen=True)
class Recipient:
    sub: str
    email: str | None
    enabled: bool
    version: int


class Recipients(Protocol):
    def get(self, sub: str) -> Recipient | None: ...

    def apply(self, recipient: Recipient) -> bool:
        """Store it unless a version as high is stored already; whether it was stored."""
        ...


class MailRefused(Exception):
    """The mail service will not take this message (an unverified or suppressed address...): never worth a retry."""


class Mailer(Protocol):
    def send(self, to: str, mail: Readable) -> str:
        """Send a plain-text message; its id. Raises MailRefused, or anything else for a failure worth retrying."""
        ...


@dataclass
class MailDeps:
    recipients: Recipients
    mailer: Mailer
    website_url: str  # where the website is (https://videos.example.com); "" : the mail has no link
    meter: Meter = field(default_factory=NoMeter)


def remember(event: MailPreferenceChanged, recipients: Recipients) -> bool:
    """Keep the user's latest preference; False when this event is older than the one kept (and so ignored)."""
    return recipients.apply(Recipient(event.sub, event.email, event.enabled and bool(event.email), event.version))


def is_final(change: VideoStatusChanged | VideoStatusChangedV1) -> bool:
    return change.status in FINAL and bool(change.owner)


def watch_link(website_url: str, video_id: str) -> str | None:
    return f"{website_url.rstrip('/')}/videos/{video_id}" if website_url else None


def compose(change: VideoStatusChanged | VideoStatusChangedV1, website_url: str) -> Readable:
    """The message for a final status, in words."""
    title = one_line(change.title or "your video", 200)
    short = one_line(change.title or "your video", 60)
    link = watch_link(website_url, change.video_id)
    if change.status == VideoStatus.READY:
        subject, lines = f'"{short}" is ready to watch', [f'Your video "{title}" is ready to watch.']
        lines += ["", link] if link else []
    else:
        subject = f'"{short}" could not be processed'
        # (the sentence says what to do; a change older than the sentences gets a general one, not its text)
        lines = [f'Your video "{title}" could not be processed:', "", f"  {failure_words(change.reason)}"]
    profile = f"{website_url.rstrip('/')}/profile" if website_url else "your profile"
    lines += ["", "-- ", "24-Hour Video", f"You get this e-mail because you turned it on in {profile}."]
    return Readable(one_line(subject), "\n".join(lines) + "\n")


@dataclass(frozen=True)
class Outcome:
    mailed: bool
    detail: str  # why not, or the message id


def tell_owner(change: VideoStatusChanged | VideoStatusChangedV1, deps: MailDeps) -> Outcome:
    """Mail the owner about a final status if they asked for it."""
    recipient = deps.recipients.get(change.owner) if change.owner else None
    if recipient is None or not recipient.enabled or not recipient.email:
        return Outcome(False, "the owner has not turned on e-mail")
    try:
        message_id = deps.mailer.send(recipient.email, compose(change, deps.website_url))
    except MailRefused as refused:
        return Outcome(False, f"refused by the mail service: {refused}")
    deps.meter.record(MAILS_SENT, status=change.status.value)  # run once per (video, status): counted once
    return Outcome(True, message_id)
