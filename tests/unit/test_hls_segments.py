"""Segments on the grid by when their keyframe is shown, and the master's FRAME-RATE as the highest rate."""

from __future__ import annotations

import pytest

from transcode.logic import hls
from transcode.logic.fmp4 import Fragment, Layout

pytestmark = pytest.mark.service("transcode")

SCALE = 15360  # ticks per second


def layout(fragments: list[tuple[float, float, int, float | None]], delay: float = 0.0) -> Layout:
    """Fragments as (decode start s, duration s, frames, first composition offset s or None)."""
    made = tuple(
        Fragment(n * 1000, 1000, round(start * SCALE), round(seconds * SCALE), frames,
                 None if offset is None else round(offset * SCALE))
        for n, (start, seconds, frames, offset) in enumerate(fragments)
    )  # fmt: skip
    return Layout(800, SCALE, made, "stsd", 0, round(delay * SCALE))


def test_fragments_are_grouped_by_when_their_keyframe_is_shown_not_decoded():
    # Given 2 s GOPs decoded ahead of their pictures by a B-frame delay that varies (a VFR source): the file's
    # edit list says 0.2 s, but the keyframe shown at 6.0 s is decoded at 5.9 s (its offset is 0.3 s)
    gops = [(0.0, 2.0, 60, 0.2), (2.0, 2.0, 60, 0.2), (4.0, 1.9, 57, 0.2), (5.9, 2.0, 60, 0.3), (7.9, 2.0, 60, 0.3)]
    # When they are grouped into 6 s segments
    piece = hls.piece("c00000.mp4", layout(gops, delay=0.2), 6)
    # Then the second segment starts with the keyframe shown at 6.0 s: not an 8 s segment and a 2 s one
    assert [round(s.seconds(SCALE), 3) for s in piece.segments] == [5.9, 4.0]


def test_audio_fragments_are_grouped_by_decode_time():
    # Given audio (no composition offsets; its edit list's media time is the AAC priming, 21 ms)
    audio = layout([(0.0, 2.0, 94, None), (2.0, 2.0, 94, None), (4.0, 2.0, 94, None), (6.0, 2.0, 94, None)], 0.021)
    # Then the priming does not push a fragment into the segment before
    assert [round(s.seconds(SCALE), 3) for s in hls.piece("audio.mp4", audio, 6).segments] == [6.0, 2.0]


def test_the_highest_frame_rate_of_any_gop_is_the_streams():
    # Given a phone's video: 15 fps in the dark, 30 in the light
    frames = layout([(0.0, 2.0, 30, 0.0), (2.0, 2.0, 30, 0.0), (4.0, 2.0, 60, 0.0), (6.0, 1.0, 29, 0.0)])
    # Then its FRAME-RATE is 30 (as HLS asks: the maximum), not the average
    assert frames.max_frame_rate() == pytest.approx(30.0, abs=0.01)
