"""Test media made on the spot with the bundled ffmpeg (nothing large is committed), hostile files included."""

from __future__ import annotations

import errno
import json
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
        [mediatools.ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
        check=True,
        timeout=120,
    )


def count_frames(*input_args: str) -> int:
    """How many frames ffprobe decodes from the input (`-i` and its options given)."""
    probe = subprocess.run(
        [mediatools.ffprobe(), "-v", "error", *input_args, "-select_streams", "v:0", "-count_frames",
         "-show_entries", "stream=nb_read_frames", "-of", "json"],
        capture_output=True, check=True, timeout=300, text=True,
    )  # fmt: skip
    return int(json.loads(probe.stdout)["streams"][0]["nb_read_frames"])


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
def hls_trap(folder: Path, server_url: str, name: str = "upload.mp4") -> Iterator[tuple[Path, FifoWatch]]:
    """An HLS playlist saved as `name` whose segments are a local named pipe and a URL on `server_url`."""
    with FifoWatch(folder / "segment.ts") as watch:
        playlist = folder / name
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


def tiny_gif(screen_width: int, screen_height: int) -> bytes:
    """A GIF89a whose logical screen is that size, holding one 1x1 black image (a 2-colour global table)."""
    header = b"GIF89a" + struct.pack("<HHBBB", screen_width, screen_height, 0x80, 0, 0) + bytes(6)
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"  # LZW: clear, 0, end
    return header + image + b"\x3b"


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
    elif kind == "gif_many_frames":  # a GIF bomb: 20,001 frames of 8x8 (10 KB), far more than any animation
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=8x8:rate=50", "-frames:v", "20001", "-f", "gif", str(path))
    elif kind == "gif_huge_screen":  # a GIF bomb: one 1x1 image on a 12000x12000 screen (576 MB a frame decoded)
        path.write_bytes(tiny_gif(12000, 12000))
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
            *(mediatools.ffmpeg(), "-v", "error", *input_args, "-map", "0:v:0", "-vf", f"scale={w}:{h}"),
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


# Subtitles: text cues given as (start, end, text) in seconds, written as SubRip and muxed in as the container's
# own text format (SRT in Matroska, mov_text in MP4); or a bitmap track (Blu-ray PGS) written by hand, since
# ffmpeg cannot draw text into bitmap subtitles.
Cue = tuple[float, float, str]


def _srt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d},{millis % 1000:03d}"


def write_srt(path: Path, cues: list[Cue]) -> Path:
    blocks = [f"{n}\n{_srt_time(start)} --> {_srt_time(end)}\n{text}\n" for n, (start, end, text) in enumerate(cues, 1)]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def write_pgs(path: Path, *, width: int, height: int, shown: tuple[float, float]) -> Path:
    """A Blu-ray (PGS) subtitle stream: one 2x2 picture shown from shown[0] to shown[1] seconds."""

    def segment(kind: int, payload: bytes, seconds: float) -> bytes:
        return b"PG" + struct.pack(">IIBH", round(seconds * 90000), 0, kind, len(payload)) + payload

    def display(seconds: float, number: int, picture: bool) -> bytes:
        composition = struct.pack(">HHBHBBBB", width, height, 0x10, number, 0x80 if picture else 0, 0, 0, int(picture))
        window = segment(0x17, struct.pack(">BBHHHH", 1, 0, 10, 10, 2, 2), seconds)
        if not picture:
            return segment(0x16, composition, seconds) + window + segment(0x80, b"", seconds)
        rle = bytes([1, 1, 0, 0, 1, 1, 0, 0])  # two lines of two pixels of colour 1
        palette = segment(0x14, struct.pack(">BBBBBBB", 0, 0, 1, 235, 128, 128, 255), seconds)
        pixels = struct.pack(">HBB", 0, 0, 0xC0) + (len(rle) + 4).to_bytes(3, "big") + struct.pack(">HH", 2, 2) + rle
        placed = segment(0x16, composition + struct.pack(">HBBHH", 0, 0, 0, 10, 10), seconds)
        return placed + window + palette + segment(0x15, pixels, seconds) + segment(0x80, b"", seconds)

    path.write_bytes(display(shown[0], 0, True) + display(shown[1], 1, False))
    return path


def make_subtitled_clip(
    path: Path,
    *,
    seconds: float,
    tracks: list[dict],
    width: int = 320,
    height: int = 180,
    audio: bool = True,
    extra: tuple[str, ...] = (),
) -> Path:
    """A test pattern with subtitle tracks; each track: `cues` (text) or `bitmap: (start, end)`, with optional
    `language`, `title` and `default` (False unless given). SRT in .mkv, mov_text in .mp4/.mov."""
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    maps = ["-map", "0:v", *(["-map", "1:a"] if audio else [])]
    first_track = 2 if audio else 1  # the input index of the first subtitle file
    options: list[str] = []
    text_codec = "srt" if path.suffix in (".mkv", ".webm") else "mov_text"
    for n, track in enumerate(tracks):
        source = path.with_name(f"{path.stem}-track{n}{'.sup' if 'bitmap' in track else '.srt'}")
        if "bitmap" in track:
            write_pgs(source, width=width, height=height, shown=track["bitmap"])
        else:
            write_srt(source, track["cues"])
        inputs += ["-i", str(source)]
        maps += ["-map", f"{first_track + n}:s"]
        options += [f"-c:s:{n}", "copy" if "bitmap" in track else text_codec]
        options += [f"-disposition:s:{n}", "default" if track.get("default") else "0"]
        for tag in ("language", "title"):
            if tag in track:
                options += [f"-metadata:s:s:{n}", f"{tag}={track[tag]}"]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *(["-c:a", "aac"] if audio else [])]
    ffmpeg(*inputs, *maps, *codecs, *options, *extra, str(path))
    return path
