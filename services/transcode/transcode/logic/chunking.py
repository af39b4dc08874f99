"""The chunk plan: where the source is cut, where keyframes and thumbnails fall. Pure arithmetic.

Every cut is on the HLS segment grid, and every keyframe on the keyframe grid (which
divides it), in every rung: so a player switching rungs at a segment finds a
keyframe there, and a chunk never splits a segment.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from contracts.events import ChunkRef

MAX_TIMESCALE = 240_000  # finer source clocks are resampled to 90 kHz; a 32-bit tfdt at 240 kHz lasts 4.97 hours


@dataclass(frozen=True)
class Grid:
    segment_seconds: int = 6
    keyframe_seconds: int = 2
    chunk_seconds: int = 60
    thumbnail_seconds: int = 10

    def __post_init__(self) -> None:
        if self.segment_seconds % self.keyframe_seconds:
            raise ValueError(f"keyframes every {self.keyframe_seconds}s do not divide {self.segment_seconds}s segments")
        if self.chunk_seconds % self.segment_seconds:
            raise ValueError(f"{self.chunk_seconds}s chunks are not a whole number of {self.segment_seconds}s segments")


def chunk_lengths(grid: Grid) -> Iterator[int]:
    """The chunks' lengths from the start: one segment, then twice as long each time up to `chunk_seconds`.

    The first chunk is small so that the start of the video plays seconds after the upload (logic/growing.py);
    the next ones grow, so the encoded prefix keeps ahead of a viewer while few chunks are in flight, and
    long videos still come in few, long chunks. Every length is a whole number of segments.
    """
    length = grid.segment_seconds
    while True:
        yield min(length, grid.chunk_seconds)
        length *= 2


def plan_chunks(duration: float, grid: Grid, *, ramp: bool = True) -> list[ChunkRef]:
    """Chunks covering [0, duration), growing to `chunk_seconds` (chunk_lengths; all of `chunk_seconds` without
    the `ramp`); the last one is what is left."""
    if duration <= 0:
        raise ValueError("a source with no duration cannot be cut")
    chunks: list[ChunkRef] = []
    start = 0
    for length in chunk_lengths(grid) if ramp else itertools.repeat(grid.chunk_seconds):
        end = start + length
        if end >= duration - 1e-9:
            chunks.append(ChunkRef(index=len(chunks), start_seconds=start, end_seconds=round(duration, 6)))
            return chunks
        chunks.append(ChunkRef(index=len(chunks), start_seconds=start, end_seconds=end))
        start = end
    raise AssertionError("unreachable")  # chunk_lengths never ends


def keyframe_times(chunk: ChunkRef, grid: Grid) -> list[float]:
    """The times in the chunk that start a GOP: the first frame at or after each is an IDR frame in every rung."""
    first = int(chunk.start_seconds)
    return [float(t) for t in range(first, math.ceil(chunk.end_seconds), grid.keyframe_seconds)]


def thumbnail_numbers(chunk: ChunkRef, grid: Grid) -> range:
    """Which thumbnails (number n is the first frame at or after n * interval) this chunk takes."""
    step = grid.thumbnail_seconds
    return range(math.ceil(chunk.start_seconds / step - 1e-9), math.ceil(chunk.end_seconds / step - 1e-9))


def timescale(time_base: str | None) -> int:
    """The clock of the output tracks: the source's own (so every timestamp stays exact), within bounds."""
    if time_base:
        try:
            rate = Fraction(time_base)
        except (ValueError, ZeroDivisionError):
            rate = Fraction(0)
        if rate > 0 and rate.numerator == 1 and rate.denominator <= MAX_TIMESCALE:
            return rate.denominator
    return 90_000
