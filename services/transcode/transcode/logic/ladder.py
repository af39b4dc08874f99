"""The rendition ladder: which web renditions a source gets, never upscaled."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    name: str
    short_side: int
    max_video_kbps: int


LADDER: tuple[Rung, ...] = (
    Rung("1080p", 1080, 5000),
    Rung("720p", 720, 2800),
    Rung("480p", 480, 1400),
)
SMALL_SOURCE_KBPS = 800


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    max_video_kbps: int


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def plan_ladder(width: int, height: int, ladder: tuple[Rung, ...] = LADDER) -> list[Rendition]:
    """Renditions for a source shown at width x height, best first.

    A rung is sized by the short side, so portrait videos get 1080x1920 and not
    608x1080. Rungs above the source are skipped; a source smaller than the
    lowest rung gets one rendition at its own size.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid source size {width}x{height}")
    short = min(width, height)
    rungs = [r for r in ladder if r.short_side <= short]
    if not rungs:
        rungs = [Rung(f"{_even(short)}p", short, SMALL_SOURCE_KBPS)]
    renditions = []
    for rung in rungs:
        scale = rung.short_side / short
        renditions.append(Rendition(rung.name, _even(width * scale), _even(height * scale), rung.max_video_kbps))
    return renditions


def poster_time(duration: float | None) -> float:
    """When to take the poster frame: a second in, or a third of a shorter clip."""
    if not duration or duration <= 0:
        return 0.0
    return round(min(1.0, duration / 3), 3)


THUMBNAIL_LONG_SIDE = 160


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """The size of a seek-bar thumbnail of a picture of that size: 160 on its long side."""
    scale = THUMBNAIL_LONG_SIDE / max(width, height)
    return _even(width * scale), _even(height * scale)
