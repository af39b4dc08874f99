"""Events in words, for people who read them as e-mail: a subject line and a short plain text.

SNS delivers an event's `email` text to e-mail subscribers (the operator's) and its JSON to every other
subscriber (see `contracts.delivery.sns_message`); the notify service writes its mail to uploaders with the
same helpers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.events import DomainEvent, VideoReady

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
SUBJECT_LIMIT = 99  # SNS: "less than 100 characters"; SES takes more, but a subject that long is read by no one


@dataclass(frozen=True)
class Readable:
    subject: str
    text: str


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """`text` fit for a subject line: control characters (line breaks included) as one space, at most `limit`
    characters, an ellipsis where it was cut."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def duration_words(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
        f"{secs} s" if secs or not whole else "",
    ]
    return " ".join(p for p in parts if p)


def operator_message(event: DomainEvent) -> Readable | None:
    """What the operator's e-mail subscription reads for an event; None: the JSON is all there is."""
    if isinstance(event, VideoReady):
        title = one_line(event.title, 60)
        lines = [
            "A video is ready to watch.",
            "",
            f"Title:       {one_line(event.title, 200)}",
            f"Video id:    {event.video_id}",
            f"Owner:       {event.owner or 'unknown'}",
            f"Duration:    {duration_words(event.duration_seconds)}",
            f"Renditions:  {', '.join(event.renditions) or 'none (stream only)'}",
            f"Ready at:    {event.occurred_at:%Y-%m-%d %H:%M:%S} UTC",
            f"Correlation: {event.correlation_id}",
        ]
        return Readable(one_line(f'24-Hour Video: "{title}" is ready'), "\n".join(lines) + "\n")
    return None
