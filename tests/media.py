"""Test media made on the spot with the bundled ffmpeg (nothing large is committed), hostile files included."""

from __future__ import annotations

import errno
import os
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mediatools

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def ffmpeg(*args: str) -> None:
    subprocess.run(
        [mediatools.binaries()[0], "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
        check=True,
        timeout=120,
    )


def make_clip(
    path: Path,
    *,
    width: int,
    height: int,
    seconds: float,
    fps: int = 25,
    audio: bool = True,
    extra: tuple[str, ...] = (),
) -> Path:
    """A test pattern (with a tone) encoded fast: enough for the pipeline to work on."""
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        codecs += ["-c:a", "aac", "-shortest"]
    ffmpeg(*inputs, *codecs, *extra, str(path))
    return path


class FifoWatch:
    """A tripwire: notices any process opening a named pipe for reading (a non-blocking writer can then open it)."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path, self.opened, self._stop = path, 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
                self.opened += 1
            except OSError as exc:
                assert exc.errno == errno.ENXIO  # no reader: what we hope to see
            time.sleep(0.001)

    def __enter__(self) -> FifoWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def hls_trap(folder: Path, server_url: str) -> Iterator[tuple[Path, FifoWatch]]:
    """An HLS playlist saved as .mp4 whose segments are a local named pipe and a URL on `server_url`."""
    with FifoWatch(folder / "segment.ts") as watch:
        playlist = folder / "upload.mp4"
        playlist.write_text(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n"
            f"#EXTINF:10,\nfile://{watch.path}\n#EXTINF:10,\n{server_url}/segment1.ts\n#EXT-X-ENDLIST\n"
        )
        yield playlist, watch


def declare_duration(mkv: bytes, seconds: float) -> bytes:
    """A Matroska file whose Segment Duration (ID 0x4489, an 8-byte float in ms) says `seconds`."""
    at = mkv.find(b"\x44\x89\x88")
    assert at != -1, "no 8-byte Duration element in the Matroska header"
    return mkv[: at + 3] + struct.pack(">d", seconds * 1000) + mkv[at + 11 :]


def hostile_file(kind: str, folder: Path, server_url: str = "http://127.0.0.1:9") -> Path:
    """A file that is not a video the pipeline should accept, named .mp4 as an upload would be."""
    path = folder / f"{kind}.mp4"
    if kind == "corrupt":
        path.write_bytes(bytes(range(256)) * 64)
    elif kind == "pdf":
        path.write_bytes(PDF)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "audio_only":
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", "-f", "mp4", str(path))
    elif kind == "hls_playlist":
        secret = folder / "secret.mp4"
        make_clip(secret, width=160, height=120, seconds=1)
        path.write_text(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n"
            f"#EXTINF:10,\n{server_url}/segment0.ts\n#EXTINF:10,\nfile://{secret}\n#EXT-X-ENDLIST\n"
        )
    elif kind == "truncated":
        full = folder / "full.mp4"
        make_clip(full, width=320, height=240, seconds=1)
        path.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    elif kind == "8k_frame":  # one 7680x4320 frame: about 0.5 s to make, 100 KB
        frame = ["-f", "lavfi", "-i", "color=c=blue:size=7680x4320:rate=1", "-frames:v", "1"]
        ffmpeg(*frame, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "mp4", str(path))
    elif kind == "declares_10_hours":  # 1 s of frames in a Matroska file that says it lasts 36 000 s
        second = make_clip(folder / "second.mkv", width=160, height=90, seconds=1)
        path.write_bytes(declare_duration(second.read_bytes(), 36_000))
    elif kind == "10_streams":  # 1 video + 9 audio streams
        sources = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", "-f", "lavfi", "-i", "sine=d=1"]
        maps = ["-map", "0:v", *["-map", "1:a"] * 9]
        codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
        ffmpeg(*sources, *maps, *codecs, "-f", "mp4", str(path))
    else:
        raise ValueError(f"no hostile file of kind {kind!r}")
    return path


# A frame that says its own number: 16 blocks of a 256x144 picture, white for a 1 bit, black for a 0 bit.
# Blocks this large survive scaling and lossy encoding, so a decoded output tells which source frame it is.
_BITS, _PATTERN = 16, (256, 144)


def make_numbered_clip(path: Path, *, width: int, height: int, seconds: float, rate: str = "30000/1001") -> Path:
    """Every frame distinct (it shows its number), with a tone: for checking that no frame is lost or repeated."""
    w, h = _PATTERN
    pattern = (
        f"color=c=black:s={w}x{h}:r={rate}:d={seconds},format=gray,"
        f"geq=lum='if(bitand(N,pow(2,floor(X/{w // 8})+8*floor(Y/{h // 2}))),235,16)',"
        f"scale={width}:{height}:flags=neighbor,format=yuv420p"
    )
    ffmpeg(
        *("-f", "lavfi", "-i", pattern),
        *("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac", "-shortest", str(path)),
    )
    return path


def frame_numbers(*input_args: str) -> list[int]:
    """The number each decoded frame of the input shows, in presentation order (see make_numbered_clip)."""
    w, h = _PATTERN
    raw = subprocess.run(
        [
            *(mediatools.binaries()[0], "-v", "error", *input_args, "-map", "0:v:0", "-vf", f"scale={w}:{h}"),
            *("-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-"),
        ],
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    numbers = []
    for start in range(0, len(raw) - w * h + 1, w * h):
        frame = raw[start : start + w * h]
        value = 0
        for bit in range(_BITS):
            x, y = (bit % 8) * (w // 8) + w // 16, (bit // 8) * (h // 2) + h // 4
            value |= (frame[y * w + x] > 125) << bit
        numbers.append(value)
    return numbers
