"""A one-hour video through the local stack: sixty chunks encoded in parallel, one HLS stream over the whole hour.

The source is small (128x72 at 10 fps, 8 kHz mono silence) so that the hour runs in a couple of minutes on a
laptop: what is tested is the length (the plan, the Map over sixty chunks, the audio encoded once for
the hour, the assembly), not the pixels.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, final, local_stack
from tests.media import ffmpeg
from transcode.logic.chunking import Grid, plan_chunks

pytestmark = pytest.mark.service("transcode", "metadata")

CHUNKS = len(plan_chunks(3600, Grid()))

HOUR = 3600
WORKERS = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: the default 60 s chunks (the shared stack's are 6 s: an hour would be 600 chunks) and
    two media workers. Under xdist it runs on the other worker, beside the shared stack's tests."""
    with local_stack(tmp_path_factory.mktemp("stack"), concurrency={"transcode-mediaTasks": WORKERS}) as running:
        yield running


@pytest.fixture(scope="module")
def hour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hour") / "lecture.mp4"
    ffmpeg(
        *("-f", "lavfi", "-i", f"testsrc2=size=128x72:rate=10:duration={HOUR}"),
        # silence: the AAC encoder's cheapest sound (a tone costs it four times as much), an hour of it all the same
        *("-f", "lavfi", "-i", f"anullsrc=r=8000:cl=mono:d={HOUR}"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-g", "100", "-c:a", "aac", "-b:a", "24k", "-ac", "1"),
        *("-shortest", str(path)),
    )
    return path


def _extinf_total(playlist: str) -> float:
    return sum(float(seconds) for seconds in re.findall(r"#EXTINF:([0-9.]+),", playlist))


@pytest.mark.timeout(900)  # the stack's start and an hour of (tiny) video, on a busy machine
def test_an_hour_long_video_ends_ready_with_hls_over_the_whole_hour(stack: Stack, hour: Path):
    # When an hour-long recording is uploaded
    started = time.monotonic()
    video_id = stack.upload(hour, "lecture.mp4")

    # Then it ends READY, cut in 63 chunks: 6, 12, 24 and 48 s first (the growing stream's ramp), then 60 s
    item = stack.wait_for("READY", lambda: final(stack.item(video_id)), timeout=900)
    assert item["status"] == "READY", item.get("failure")
    assert item["chunks"] == CHUNKS == 63
    print(f"an hour of video READY in {time.monotonic() - started:.0f}s with {WORKERS} chunk workers")

    # And its stream covers the full hour, in the video's rung and in the audio
    stream, bucket = item["stream"], item["stream"]["bucket"]
    assert stream["duration_seconds"] == pytest.approx(HOUR, abs=0.2)

    def playlist(key: str) -> str:
        body: bytes = stack.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode()

    [rung] = stream["renditions"]
    video = playlist(rung["playlist"])
    assert video.count("#EXT-X-BYTERANGE") == HOUR // 6 and _extinf_total(video) == pytest.approx(HOUR, abs=0.2)
    assert len(set(re.findall(r"^c\d{5}\.mp4$", video, re.M))) == CHUNKS
    audio = playlist(stream["audio"])
    assert _extinf_total(audio) == pytest.approx(HOUR, abs=0.2)
