"""Watching a video while it is encoded, on the local stack: its link plays the growing stream, a player that
starts then plays on to the end when it is READY, and decodes the very frames (and sound) of a player that starts
after."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

import mediatools
from tests.e2e.conftest import Stack
from tests.media import make_clip

pytestmark = pytest.mark.service("transcode", "metadata")

PLAYER = ("-protocol_whitelist", "http,tcp", "-allowed_extensions", "ALL")


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """18 s of 720p (two rungs) at 10 fps: three 6 s chunks on the test grid, cheap to encode."""
    return make_clip(tmp_path_factory.mktemp("early") / "early.mp4", width=1280, height=720, seconds=18, fps=10)


def _video(stack: Stack, video_id: str, token: str) -> dict[str, Any]:
    response = requests.get(stack.url(f"/videos/{video_id}"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return response.json() if response.status_code == 200 else {}


def _frames(*inputs: str) -> subprocess.Popen[str]:
    """A player as ffmpeg: every video frame and audio frame it decodes, hashed; from one master playlist, or a
    media playlist and the audio's (it follows a growing playlist from its first segment until it ends)."""
    sound = "1:a:0" if len(inputs) > 1 else "0:a:0"
    opened = [arg for url in inputs for arg in (*PLAYER, "-live_start_index", "0", "-i", url)]
    return subprocess.Popen(
        [mediatools.ffmpeg(), "-nostdin", "-v", "error", *opened,
         "-map", "0:v:0", "-map", sound, "-f", "framemd5", "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _hashes(player: subprocess.Popen[str], timeout: float) -> list[tuple[str, ...]]:
    """(stream, time, duration, size, hash) of each decoded frame: the time of a picture; an audio frame's time
    is left out, as the HLS reader puts a sound read from a master a tick (1/48000 s) off one read on its own."""
    out, err = player.communicate(timeout=timeout)
    assert player.returncode == 0, err[-2000:]
    frames = [tuple(f.strip() for f in line.split(",")) for line in out.splitlines() if line and line[0] != "#"]
    return [(s, pts if s == "0" else "", *rest) for s, _dts, pts, *rest in frames]


def test_a_video_plays_while_it_is_encoded_and_the_early_player_sees_the_final_frames(
    stack: Stack, long_clip: Path
) -> None:
    # Given alice's upload
    token = stack.forge.token("alice")
    video_id = stack.upload(long_clip, "early.mp4", owner="sub-alice")

    # When the start of it is encoded, her page has a playback link while it is still PROCESSING
    deadline, video = time.monotonic() + 120, {}
    while time.monotonic() < deadline:
        video = _video(stack, video_id, token)
        if video.get("status") in ("READY", "FAILED") or video.get("playback"):
            break
        time.sleep(0.1)
    assert video.get("status") == "PROCESSING" and video.get("playback"), video
    assert 0 < video["playable_seconds"] <= 18
    master_url = video["playback"]["hls"]
    # (a growing stream: the master names only the lowest rung, its playlist is an EVENT one with no end yet,
    # and neither may be kept by a player's cache)
    master = requests.get(master_url, timeout=10)
    assert master.headers["cache-control"].endswith("max-age=1")
    [variant] = [line for line in master.text.splitlines() if line and not line.startswith("#")]
    assert "RESOLUTION=854x480" in master.text
    media = requests.get(variant, timeout=10).text
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in media and "#EXT-X-ENDLIST" not in media
    # And a player that starts now follows it
    early = _frames(master_url)

    # Then when the video is READY, the same link is the finished stream, and the early player ends with it
    assert stack.final_item(video_id)["status"] == "READY"
    ready = _video(stack, video_id, token)
    assert ready["playback"]["hls"] == master_url and ready["playable_seconds"] is None
    early_hashes = _hashes(early, timeout=120)
    final_master = requests.get(master_url, timeout=10).text
    assert final_master.count("#EXT-X-STREAM-INF") == 2
    lines = final_master.splitlines()
    [low] = [lines[i + 1] for i, line in enumerate(lines) if "RESOLUTION=854x480" in line]
    audio = final_master.split("TYPE=AUDIO", 1)[1].split('URI="', 1)[1].split('"', 1)[0]
    late_hashes = _hashes(_frames(low, audio), timeout=120)
    # and it decoded every frame and every sound packet a player starting after READY decodes, identical
    assert early_hashes == late_hashes
    assert len([h for h in early_hashes if h[0] == "0"]) == 18 * 10
