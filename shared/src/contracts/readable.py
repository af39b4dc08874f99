"""Events in words, for people who read them as e-mail: a subject line and a short plain text; and why a
video failed, as a sentence for the person who uploaded it (one per FailureReason code).

SNS delivers an event's `email` text to e-mail subscribers (the operator's) and its JSON to every other
subscriber (see `contracts.delivery.sns_message`); the notify service writes its mail to uploaders with the
same helpers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from contracts.events import DomainEvent, FailureReason, VideoReady

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


# --- Why a video failed, in words ------------------------------------------------------------------------


@dataclass(frozen=True)
class StatedLimits:
    """The transcoder's limits as people are told them. contracts cannot import the transcode service, so these
    restate its defaults (transcode.logic.gate.GateLimits, the stage params): a test keeps them equal."""

    source_gib: int = 5
    hours: int = 4
    long_side: int = 3840
    short_side: int = 2160
    fps: int = 60
    tracks: int = 8


LIMITS = StatedLimits()

# The reason people read for each failure code: what happened to their video and what they can do. Never the
# tool's words (ffmpeg's stderr, a chunk, an address): those go to the transcode's logs.
FAILURE_SENTENCES: Mapping[FailureReason, str] = MappingProxyType(
    {
        FailureReason.EMPTY_FILE: (
            "This file is empty: there is nothing in it to play. "
            "Check that it plays on your device, then upload it again."
        ),
        FailureReason.FILE_TOO_LARGE: (
            f"This file is larger than {LIMITS.source_gib} GiB, the most we accept. "
            "Save the video at a lower quality, or cut it into shorter parts, and upload those."
        ),
        FailureReason.SOURCE_MISSING: (
            "Your file was no longer there when we came to work on it: it may have been replaced or deleted. "
            "Upload it again."
        ),
        FailureReason.UNREADABLE_MEDIA: (
            "We could not read this file as a video: it may be damaged, cut short or not a video at all. "
            "Check that it plays on your device, then upload it again."
        ),
        FailureReason.UNSUPPORTED_CONTAINER: (
            "We do not accept this kind of file. We accept MP4 and MOV, MKV and WebM, MPEG-TS (M2TS, MTS), "
            "MPEG-PS (VOB), AVI and animated GIF files: save your video as one of these, MP4 for example, "
            "and upload it again."
        ),
        FailureReason.NO_VIDEO_STREAM: (
            "This file has no picture: it looks like a sound recording. Upload a video file instead."
        ),
        FailureReason.DURATION_TOO_LONG: (
            f"This video is too long: we accept up to {LIMITS.hours} hours of video "
            "(an animated GIF may also have too many frames). Cut it into shorter parts and upload each one."
        ),
        FailureReason.RESOLUTION_TOO_HIGH: (
            f"This video's picture is too large: we accept up to {LIMITS.long_side} x {LIMITS.short_side} "
            "pixels, either way up. Export it at that size or smaller and upload it again."
        ),
        FailureReason.FRAME_RATE_TOO_HIGH: (
            f"This video has more than {LIMITS.fps} frames per second, the most we accept. "
            f"Export it at {LIMITS.fps} frames per second or fewer and upload it again."
        ),
        FailureReason.TOO_MANY_STREAMS: (
            f"This file holds more than {LIMITS.tracks} tracks (picture, sound and subtitles together), "
            "the most we accept. Export it with fewer tracks, one picture and one sound track for example, "
            "and upload it again."
        ),
        FailureReason.TRANSCODE_FAILED: (
            "Something went wrong on our side while we prepared your video, and trying again several times "
            "did not help. Please upload it again."
        ),
    }
)
# For a failure whose code is unknown, or a message that carries no sentence of ours (one sent before there
# were sentences, still waiting in a DLQ, carries the tool's words).
UNKNOWN_FAILURE = "We could not turn this file into a video. Upload it again, or try another file."
_PART = "(It happened in the part from {start} to {end} of your video.)"
_CLOCK = r"\d+(?::\d\d){1,2}"


class TimeRange(Protocol):
    """The part of a video a failure is about (a chunk)."""

    @property
    def start_seconds(self) -> float: ...

    @property
    def end_seconds(self) -> float: ...


def clock_words(seconds: float) -> str:
    """A time in the video as a player shows it: 2:05, 1:02:05."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def failure_sentence(code: str | None, part: TimeRange | None = None) -> str:
    """Why a video failed, for the person who uploaded it: the sentence of its code and, given the part of the
    video it is about, where (in whole seconds, the part rounded outwards)."""
    try:
        sentence = FAILURE_SENTENCES.get(FailureReason(code or ""), UNKNOWN_FAILURE)
    except ValueError:
        sentence = UNKNOWN_FAILURE
    if part is None:
        return sentence
    where = _PART.format(start=clock_words(part.start_seconds), end=clock_words(math.ceil(part.end_seconds)))
    return f"{sentence} {where}"


_SENTENCE = re.compile(
    "(?:{})(?: {})?".format(
        "|".join(re.escape(s) for s in (*FAILURE_SENTENCES.values(), UNKNOWN_FAILURE)),
        re.escape(_PART).replace(r"\{start\}", _CLOCK).replace(r"\{end\}", _CLOCK),
    )
)


def failure_words(reason: str | None) -> str:
    """A failure reason fit for people, when all there is is its text: the text if `failure_sentence` wrote it,
    else UNKNOWN_FAILURE (never the tool's words an older message may carry)."""
    return reason if reason is not None and _SENTENCE.fullmatch(reason) else UNKNOWN_FAILURE
