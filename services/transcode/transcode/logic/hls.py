"""HLS playlists (RFC 8216, version 7) over fMP4 files addressed by byte range. Pure text.

A rung's media playlist lists, for every chunk file in order, its segments as byte
ranges of that file, under one EXT-X-MAP (the first chunk's init segment): the
segments were placed on the source's timeline, so they follow one another. The audio
playlist does the same over the one audio file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from transcode.logic.fmp4 import Layout

VERSION = 7  # fMP4 segments (6) with byte ranges and EXT-X-MAP BYTERANGE
CONTENT_TYPE = "application/vnd.apple.mpegurl"


@dataclass(frozen=True)
class Segment:
    uri: str
    offset: int
    length: int
    ticks: int

    def seconds(self, timescale: int) -> float:
        return self.ticks / timescale


@dataclass(frozen=True)
class Piece:
    """One file of a track (a chunk of a rung, or the whole audio): its init segment and its segments."""

    uri: str
    timescale: int
    init_length: int
    sample_entry: str
    segments: tuple[Segment, ...]

    @property
    def size(self) -> int:
        return self.init_length + sum(s.length for s in self.segments)


def piece(uri: str, layout: Layout, segment_seconds: int) -> Piece:
    """Group a file's fragments into segments on the segment grid (a fragment starts at a keyframe), by the
    time each keyframe is presented."""
    grid = segment_seconds * layout.timescale
    tolerance = layout.timescale // 1000  # a keyframe forced at 6.0 s may be shown a tick before it
    segments: list[Segment] = []
    current = -1
    for fragment in layout.fragments:
        slot = (layout.presented_at(fragment) + tolerance) // grid  # by when it is shown, not decoded
        if segments and slot == current:
            last = segments[-1]
            segments[-1] = Segment(uri, last.offset, last.length + fragment.size, last.ticks + fragment.duration)
        else:
            segments.append(Segment(uri, fragment.offset, fragment.size, fragment.duration))
            current = slot
    return Piece(uri, layout.timescale, layout.init_size, layout.sample_entry, tuple(segments))


class MismatchedPieces(ValueError):
    """The chunks of one rung were not encoded alike: one init segment cannot serve them all."""


def media_playlist(pieces: Sequence[Piece], *, ended: bool = True) -> str:
    """A track's playlist over its pieces in order: VOD with its end, or (`ended` False) an EVENT playlist of the
    part encoded so far, which later versions only lengthen (and the VOD one ends)."""
    if not pieces:
        raise ValueError("a playlist needs at least one piece")
    first = pieces[0]
    for other in pieces[1:]:
        if other.sample_entry != first.sample_entry or other.timescale != first.timescale:
            raise MismatchedPieces(f"{other.uri} was not encoded like {first.uri}")
    segments = [s for p in pieces for s in p.segments]
    target = max(1, math.ceil(max(s.seconds(first.timescale) for s in segments) - 1e-3))
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-PLAYLIST-TYPE:{'VOD' if ended else 'EVENT'}",
        *([] if ended else ["#EXT-X-START:TIME-OFFSET=0"]),  # from the start, not at the growing end
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{first.uri}",BYTERANGE="{first.init_length}@0"',
    ]
    for segment in segments:
        lines += [
            f"#EXTINF:{segment.seconds(first.timescale):.6f},",
            f"#EXT-X-BYTERANGE:{segment.length}@{segment.offset}",
            segment.uri,
        ]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def bandwidth(pieces: Sequence[Piece]) -> tuple[int, int]:
    """(peak, average) bits per second of a track over its segments."""
    segments = [(s.length, s.seconds(p.timescale)) for p in pieces for s in p.segments]
    peak = max((8 * length / seconds for length, seconds in segments if seconds > 0), default=0.0)
    seconds = sum(s for _, s in segments)
    average = 8 * sum(length for length, _ in segments) / seconds if seconds else 0.0
    return math.ceil(peak), math.ceil(average)


def duration(pieces: Sequence[Piece]) -> float:
    return sum(s.seconds(p.timescale) for p in pieces for s in p.segments)


@dataclass(frozen=True)
class Variant:
    """A rung as the master playlist describes it."""

    uri: str
    width: int
    height: int
    bandwidth: int
    average_bandwidth: int
    codecs: str
    frame_rate: float | None


AUDIO_GROUP = "audio"
AUDIO_CODEC = "mp4a.40.2"  # AAC-LC


def master_playlist(
    variants: Sequence[Variant], audio_uri: str | None, subtitles: Sequence[SubtitleRendition] = ()
) -> str:
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio_uri:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,'
            f'CHANNELS="2",URI="{audio_uri}"'
        )
    lines += [_subtitle_media(track) for track in subtitles]
    for variant in variants:
        attributes = [
            f"BANDWIDTH={variant.bandwidth}",
            f"AVERAGE-BANDWIDTH={variant.average_bandwidth}",
            f"RESOLUTION={variant.width}x{variant.height}",
            f'CODECS="{variant.codecs}"',
        ]
        if variant.frame_rate:
            attributes.append(f"FRAME-RATE={variant.frame_rate:.3f}")
        if audio_uri:
            attributes.append(f'AUDIO="{AUDIO_GROUP}"')
        if subtitles:
            attributes.append(f'SUBTITLES="{SUBTITLES_GROUP}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attributes), variant.uri]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    image: str
    x: int
    y: int
    width: int
    height: int


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def thumbnails_track(cues: Sequence[Cue]) -> str:
    """A WebVTT track whose cues name a region of a sprite image (`sprite.jpg#xywh=x,y,w,h`)."""
    lines = ["WEBVTT", ""]
    for cue in cues:
        lines += [
            f"{_timestamp(cue.start)} --> {_timestamp(cue.end)}",
            f"{cue.image}#xywh={cue.x},{cue.y},{cue.width},{cue.height}",
            "",
        ]
    return "\n".join(lines)


# --- subtitles -------------------------------------------------------------------------------------------

SUBTITLES_GROUP = "subs"
# Cue times are the source's own timestamps, as the video's fragments are (`-copyts`): cue time 0 is media
# time 0. RFC 8216 says so when the map is absent; stated anyway, so that every player reads it alike.
TIMESTAMP_MAP = "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000"


@dataclass(frozen=True)
class SubtitleRendition:
    """A subtitle track as the master playlist describes it (an EXT-X-MEDIA of the SUBTITLES group)."""

    uri: str
    name: str
    language: str | None = None
    default: bool = False
    forced: bool = False


def quoted(text: str) -> str:
    """`text` as an HLS quoted-string's content: one line without a double quote (RFC 8216 has no escape)."""
    return " ".join(text.replace('"', "'").split())


def _subtitle_media(track: SubtitleRendition) -> str:
    attributes = [
        "TYPE=SUBTITLES",
        f'GROUP-ID="{SUBTITLES_GROUP}"',
        f'NAME="{quoted(track.name)}"',
        *([f'LANGUAGE="{quoted(track.language)}"'] if track.language else []),
        f"DEFAULT={'YES' if track.default else 'NO'}",
        "AUTOSELECT=YES",
        *(["FORCED=YES"] if track.forced else []),
        f'URI="{track.uri}"',
    ]
    return "#EXT-X-MEDIA:" + ",".join(attributes)


def subtitles_playlist(uri: str, seconds: float) -> str:
    """A subtitle rendition's media playlist: its one WebVTT file, one segment over the whole video."""
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(seconds))}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXTINF:{seconds:.6f},",
        uri,
        "#EXT-X-ENDLIST",
    ]
    return "\n".join(lines) + "\n"


class NotWebVtt(ValueError):
    """The text does not begin as a WebVTT file does."""


def subtitle_track(vtt: str) -> str:
    """A WebVTT file as the stream serves it: its header states how its cue times map to the media's."""
    lines = vtt.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines[0].startswith("WEBVTT") or lines[0][6:7] not in ("", " ", "\t"):
        raise NotWebVtt("the file does not begin with WEBVTT")
    header_end = lines.index("") if "" in lines else len(lines)
    header = [line for line in lines[1:header_end] if not line.startswith("X-TIMESTAMP-MAP=")]
    return "\n".join([lines[0], TIMESTAMP_MAP, *header, *lines[header_end:]])
