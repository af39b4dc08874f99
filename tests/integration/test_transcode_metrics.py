"""The transcode workflow on a moto server, its tasks done by the media tasks handler with real ffmpeg: the
metrics it prints (EMF on stdout) say what each chunk took and what the video cost per minute of source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdakit.metrics import CHUNK_SECONDS, TRANSCODE_CPU, TRANSCODE_WALL
from tests.emf import emitted, values
from tests.integration.conftest import Aws, Context, moto_stack, sqs_event
from tests.integration.pipeline import events_published, transcode_handler, upload

pytestmark = pytest.mark.service("transcode")


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_stack(server=True) as stack:
        yield stack


def test_a_transcoded_video_tells_its_chunk_time_and_cost_per_source_minute(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hd_clip: Path, capsys: pytest.CaptureFixture[str]
):
    # Given the transcode service, and a 2 s 720p clip uploaded
    transcode = next(transcode_handler(aws, monkeypatch, tmp_path / "work"))
    tap = aws.tap(aws.name("transcode", "VideoEventsTopic"))
    _, body = upload(aws, hd_clip, "clip.mp4")
    capsys.readouterr()
    # When the workflow runs to its end
    assert transcode(sqs_event(body), Context()) == {"batchItemFailures": []}
    # Then its one chunk's encode time was told for each of its two rounds (480p, then 720p), and the video's wall
    # and ffmpeg CPU seconds per source minute
    *_, event = events_published(aws, tap)
    assert event["event_type"] == "VideoTranscoded"
    documents = emitted(capsys)
    told = values(documents, CHUNK_SECONDS)
    assert len(told) == 2
    assert all(dimensions == {"service": "transcode"} and seconds > 0 for seconds, dimensions in told)
    chunk_seconds = sum(seconds for seconds, _ in told)
    minutes = event["duration_seconds"] / 60
    [(wall, _)] = values(documents, TRANSCODE_WALL)
    assert wall == pytest.approx(event["timings"]["total"] / minutes, rel=0.01)
    [(cpu, _)] = values(documents, TRANSCODE_CPU)
    # ffmpeg's children really were measured (two rungs, the audio, two MP4 downloads, the sprite)
    print(f"chunk {chunk_seconds} s; per source minute: wall {wall} s, CPU {cpu} s")
    assert 0.1 < cpu * minutes < 120, f"{cpu * minutes} CPU seconds for the 2 s clip"
