"""Fixtures shared by every test layer: short clips made with the bundled ffmpeg."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import make_clip


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def small_clip(clips: Path) -> Path:
    """2 s, 640x360, with audio: the cheapest clip that gives a real 360p rendition."""
    return make_clip(clips / "small.mp4", width=640, height=360, seconds=2)


@pytest.fixture(scope="session")
def hd_clip(clips: Path) -> Path:
    """2 s of 1280x720 with audio: gives the 720p and 480p rungs."""
    return make_clip(clips / "hd.mp4", width=1280, height=720, seconds=2)
