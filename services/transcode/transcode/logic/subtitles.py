"""Subtitles: which of the source's tracks the stream carries, and what people see them called. Pure.

Text tracks (SubRip, ASS/SSA, MP4's mov_text, WebVTT, plain text) each become one WebVTT file and a
subtitle rendition of the HLS stream. Bitmap tracks (DVD, Blu-ray PGS, DVB) would need OCR: left out.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from contracts.media import Probe, ProbeStream
from transcode.logic.hls import quoted
from transcode.logic.languages import english_name, rfc5646

TEXT_CODECS = frozenset({"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"})
NAME_LENGTH = 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # line breaks among them: a name is one line


class SubtitleTrack(BaseModel):
    """A text track of the source as the stream carries it, in `subs/{number}/` under the stream's folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int  # its place among the carried tracks
    stream: int  # the source's stream index (ffmpeg's `-map 0:{stream}`)
    codec: str
    name: str  # what a person picks it by (the HLS NAME): unique among the video's tracks
    language: str | None  # RFC 5646 (the HLS LANGUAGE); None when the file says none
    default: bool = False  # at most one track: shown without being asked for
    forced: bool = False  # only the lines a viewer needs (signs, foreign dialogue)

    @property
    def playlist(self) -> str:
        return f"subs/{self.number}/index.m3u8"

    @property
    def track(self) -> str:
        return f"subs/{self.number}/subtitles.vtt"


def is_text(stream: ProbeStream) -> bool:
    return stream.codec_type == "subtitle" and (stream.codec_name or "") in TEXT_CODECS


def text_tracks(probe: Probe) -> list[SubtitleTrack]:
    """The source's text subtitle tracks in stream order, named for people; bitmap tracks are left out."""
    tracks: list[SubtitleTrack] = []
    taken: set[str] = set()
    for number, stream in enumerate(s for s in probe.streams if is_text(s)):
        language = rfc5646(_tag(stream, "language"))
        forced = bool(stream.disposition.get("forced"))
        title = _tag(stream, "title") or _tag(stream, "name")  # (an MP4 track's title reads as its `name`)
        name = _unique(_name(title, language, number, forced), taken)
        default = bool(stream.disposition.get("default")) and not any(t.default for t in tracks)
        tracks.append(
            SubtitleTrack(
                number=number,
                stream=stream.index,
                codec=stream.codec_name or "",
                name=name,
                language=language,
                default=default,
                forced=forced,
            )
        )
    return tracks


def clean_name(text: str | None) -> str:
    """One line of plain text, at most NAME_LENGTH characters, fit for an HLS quoted string (hls.quoted)."""
    return quoted(_CONTROL.sub(" ", text or ""))[:NAME_LENGTH].rstrip()


def _tag(stream: ProbeStream, name: str) -> str | None:
    return next((value for key, value in stream.tags.items() if key.lower() == name), None)


def _name(title: str | None, language: str | None, number: int, forced: bool) -> str:
    """The track's title; else its language's name; else "Subtitles N". A forced track without a title says so."""
    if titled := clean_name(title):
        return titled
    name = english_name(language) or f"Subtitles {number + 1}"
    return f"{name} (forced)" if forced else name


def _unique(name: str, taken: set[str]) -> str:
    candidate, count = name, 1
    while candidate.casefold() in taken:
        count += 1
        candidate = f"{name} ({count})"
    taken.add(candidate.casefold())
    return candidate
