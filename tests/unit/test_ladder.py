"""The rendition ladder: each rung fit inside its box (turned for portrait), never upscaled, always even."""

from __future__ import annotations

import pytest

from transcode.logic.ladder import plan_ladder, poster_time

pytestmark = pytest.mark.service("transcode")


def _sizes(width: int, height: int) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in plan_ladder(width, height)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ((1920, 1080), [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480)]),
        ((1280, 720), [("720p", 1280, 720), ("480p", 854, 480)]),
        ((1080, 1920), [("1080p", 1080, 1920), ("720p", 720, 1280), ("480p", 480, 854)]),
        ((3840, 2160), [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480)]),
        ((640, 360), [("360p", 640, 360)]),
        ((1918, 802), [("1080p", 1918, 802), ("720p", 1280, 536), ("480p", 854, 358)]),
        ((3840, 1608), [("1080p", 1920, 804), ("720p", 1280, 536), ("480p", 854, 358)]),
        ((853, 480), [("480p", 852, 480)]),
        ((1440, 1080), [("1080p", 1440, 1080), ("720p", 960, 720), ("480p", 640, 480)]),
        ((1080, 1350), [("1080p", 1080, 1350), ("720p", 720, 900), ("480p", 480, 600)]),
    ],
    ids=[
        "1080p",
        "720p-never-upscaled",
        "portrait",
        "4k",
        "below-lowest-rung",
        "2.39-film-full-width",
        "4k-scope-film",
        "anamorphic-sd-16x9",
        "4x3",
        "portrait-4x5",
    ],
)
def test_ladder_for_a_source(source: tuple[int, int], expected: list[tuple[str, int, int]]) -> None:
    # Given a source shown at width x height
    # When its ladder is planned
    renditions = _sizes(*source)

    # Then it gets exactly these renditions, best first
    assert renditions == expected


@pytest.mark.parametrize("source", [(1280, 720), (1920, 1080), (1080, 1920), (640, 360), (1000, 700)])
def test_no_rendition_is_larger_than_the_source(source: tuple[int, int]) -> None:
    # Given a source
    # When its ladder is planned
    renditions = plan_ladder(*source)

    # Then no rendition is wider or taller than the source
    assert renditions
    assert all(r.width <= source[0] and r.height <= source[1] for r in renditions)


@pytest.mark.parametrize("source", [(1279, 719), (641, 361), (1921, 1081), (1081, 1921), (1001, 563), (3839, 2159)])
def test_odd_sizes_give_even_dimensions(source: tuple[int, int]) -> None:
    # Given a source with odd dimensions (H.264 in yuv420p needs even ones)
    # When its ladder is planned
    renditions = plan_ladder(*source)

    # Then every rendition has even width and height, and the aspect ratio is kept within a pixel
    assert renditions
    for r in renditions:
        assert r.width % 2 == 0 and r.height % 2 == 0, r
        assert abs(r.width / r.height - source[0] / source[1]) < 2 / min(r.width, r.height), r


@pytest.mark.parametrize("source", [(0, 1080), (1920, 0), (0, 0), (-1280, 720)])
def test_an_empty_size_is_refused(source: tuple[int, int]) -> None:
    # Given a size with no area
    # When a ladder is planned for it
    # Then it is refused
    with pytest.raises(ValueError):
        plan_ladder(*source)


@pytest.mark.parametrize(
    ("duration", "expected"),
    [(None, 0.0), (0, 0.0), (-3.0, 0.0), (0.3, 0.1), (1.5, 0.5), (2.0, 0.667), (3.0, 1.0), (600.0, 1.0)],
)
def test_poster_time(duration: float | None, expected: float) -> None:
    # Given a clip of some duration (or an unknown one)
    # When the poster time is chosen
    at = poster_time(duration)

    # Then it is 0 when unknown, a third of a short clip, and never after one second
    assert at == expected
