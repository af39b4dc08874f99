"""The rendition ladder: which web renditions a source gets, never upscaled."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    """A rung's box (landscape; turned for a portrait source): a rendition fits inside it."""

    name: str
    width: int
    height: int
    max_video_kbps: int


LADDER: tuple[Rung, ...] = (
    Rung("1080p", 1920, 1080, 5000),
    Rung("720p", 1280, 720, 2800),
    Rung("480p", 854, 480, 1400),
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


def fit(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The even size of a width x height picture fit inside the box (turned for portrait), never enlarged."""
    if height > width:
        box_width, box_height = box_height, box_width
    scale = min(1.0, box_width / width, box_height / height)
    if width >= height:  # the long side rounded to even, the other from it: the aspect ratio kept within a pixel
        long = _even(width * scale)
        return long, _even(long * height / width)
    long = _even(height * scale)
    return _even(long * width / height), long


def plan_ladder(width: int, height: int, ladder: tuple[Rung, ...] = LADDER) -> list[Rendition]:
    """Renditions for a source shown at width x height, best first.

    Each rung fits the picture inside its box, turned for portrait (1080x1920, not 608x1080), so
    a wide film keeps its full width (1918x802 stays 1918x802 in the 1080p rung, not 1722x720).
    Nothing is enlarged: a rung that would come out the same size as the one below is left out,
    and a source whose short side is below the lowest rung's gets one rendition at its own size.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid source size {width}x{height}")
    lowest = ladder[-1]
    if min(width, height) < min(lowest.width, lowest.height):
        size = fit(width, height, ladder[0].width, ladder[0].height)
        return [Rendition(f"{min(size)}p", *size, SMALL_SOURCE_KBPS)]
    sizes = [fit(width, height, rung.width, rung.height) for rung in ladder]
    return [
        Rendition(rung.name, *size, rung.max_video_kbps)
        for index, (rung, size) in enumerate(zip(ladder, sizes, strict=True))
        if index == len(ladder) - 1 or size != sizes[index + 1]
    ]


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
