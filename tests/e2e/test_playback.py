"""Playback on the local stack, as a player without a token sees it (Safari's native HLS cannot send one): the
link from GET /videos/{id} (on the local API, whatever host the request named), the master, a media playlist, its
init and first segment by byte range, ffprobe reading the whole stream through the link, and the link refused
once the video is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Stack
from tests.media import count_frames

pytestmark = pytest.mark.service("transcode", "metadata")


def _byte_range(spec: str) -> str:
    length, _, offset = spec.partition("@")
    return f"bytes={int(offset)}-{int(offset) + int(length) - 1}"


def test_a_ready_video_plays_from_its_link_with_no_token(stack: Stack, small_clip: Path):
    # Given alice's READY video
    video_id = stack.upload(small_clip, "play me.mp4", owner="sub-alice")  # the token's sub
    assert stack.final_item(video_id)["status"] == "READY"

    # When she asks for it, and hands the playback link to a player
    token = stack.forge.token("alice")
    video = requests.get(stack.url(f"/videos/{video_id}"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert video.status_code == 200, video.text
    playback = video.json()["playback"]
    assert playback and playback["hls"].startswith(stack.url("/playback/"))
    # (the same link again, on the local API's address, though this request names another host)
    hostile = {"Authorization": f"Bearer {token}", "Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    again = requests.get(stack.url(f"/videos/{video_id}"), headers=hostile, timeout=10)
    assert again.json()["playback"] == playback

    # Then the master is served to a request with no Authorization header, its children on the same route
    master = requests.get(playback["hls"], timeout=10)
    assert master.status_code == 200 and master.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert master.headers["cache-control"].startswith("private, max-age=")
    variants = [line for line in master.text.splitlines() if line and not line.startswith("#")]
    assert variants and all(v.startswith(stack.url("/playback/")) for v in variants)

    # And the media playlist names signed URLs whose init segment and first segment come by byte range
    media = requests.get(variants[0], timeout=10)
    assert media.status_code == 200, media.text
    lines = media.text.splitlines()
    [map_line] = [line for line in lines if line.startswith("#EXT-X-MAP:")]
    init_url = map_line.split('URI="', 1)[1].split('"', 1)[0]
    init_range = map_line.split('BYTERANGE="', 1)[1].split('"', 1)[0]
    init = requests.get(init_url, headers={"Range": _byte_range(init_range)}, timeout=10)
    assert init.status_code == 206 and init.content[4:8] == b"ftyp"
    first = next(i for i, line in enumerate(lines) if line.startswith("#EXT-X-BYTERANGE:"))
    segment_range, segment_url = lines[first].split(":", 1)[1], lines[first + 1]
    segment = requests.get(segment_url, headers={"Range": _byte_range(segment_range)}, timeout=10)
    assert segment.status_code == 206 and segment.content[4:8] in (b"moof", b"styp")
    assert len(segment.content) == int(segment_range.partition("@")[0])

    # And ffprobe, given only the link, reads every frame of the source
    hls = ("-protocol_whitelist", "http,tcp", "-allowed_extensions", "ALL", "-i", playback["hls"])
    assert count_frames(*hls) == count_frames("-i", str(small_clip))

    # And the thumbnails track names signed sprite regions
    if playback["thumbnails"]:
        track = requests.get(playback["thumbnails"], timeout=10)
        assert track.status_code == 200 and track.headers["content-type"] == "text/vtt"
        [cue, *_] = [line for line in track.text.splitlines() if "#xywh=" in line]
        assert requests.get(cue.split("#", 1)[0], timeout=10).content[:2] == b"\xff\xd8"  # a JPEG

    # And once she deletes it, the link is refused at once
    deleted = requests.delete(
        stack.url(f"/videos/{video_id}"), headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert deleted.status_code == 204
    assert requests.get(playback["hls"], timeout=10).status_code == 404


def test_an_unknown_grant_or_a_path_out_of_the_package_is_404(stack: Stack):
    for path in ("A" * 43 + "/master.m3u8", "A" * 43 + "/../../videos/x/master.m3u8", "A" * 43 + "/%2e%2e/x.m3u8"):
        response = requests.get(stack.url(f"/playback/{path}"), timeout=10)
        assert response.status_code == 404, path
