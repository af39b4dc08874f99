"""A video whose chunk failed for good is FAILED with the chunk named; `replay rerun` finishes it, doing only the
missing work, and the catalog then holds it READY, announced once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediatools import MediaToolError
from replay.core import rerun
from tests.integration.conftest import Aws, Context, moto_stack, sqs_event
from tests.integration.faults import assert_not_finished
from tests.integration.pipeline import DownloadingProber, Pipeline, catalog_handlers, transcode_handler
from tests.media import make_clip
from transcode.adapters.media import FfmpegMedia

pytestmark = pytest.mark.service("transcode", "metadata")


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_stack(server=True) as stack:
        yield stack


@pytest.fixture
def pipeline(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Pipeline]:
    transcoder = next(transcode_handler(aws, monkeypatch, tmp_path / "work"))
    catalog = next(catalog_handlers(aws, monkeypatch, DownloadingProber(aws.client("s3"), tmp_path)))
    yield Pipeline(aws, transcoder, catalog)


def _playlist(aws: Aws, key: str) -> str:
    body = aws.client("s3").get_object(Bucket=aws.name("transcode", "TranscodedBucket"), Key=key)["Body"]
    return body.read().decode()


def _seconds(playlist: str) -> float:
    """What a media playlist plays: its segments' durations."""
    durations = [line.removeprefix("#EXTINF:") for line in playlist.splitlines() if line.startswith("#EXTINF:")]
    return sum(float(duration.rstrip(",")) for duration in durations)


@pytest.fixture
def encodes(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Which chunks the media tool was asked to encode; `broken` chunks fail every time."""
    seen: dict = {"chunks": [], "broken": {1}}
    real = FfmpegMedia.encode_chunk

    def encode_chunk(self, source, demuxer, chunk, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen["chunks"].append(chunk.index)
        if chunk.index in seen["broken"]:
            raise MediaToolError("ffmpeg", "Conversion failed! (a broken chunk)")
        return real(self, source, demuxer, chunk, *args, **kwargs)

    monkeypatch.setattr(FfmpegMedia, "encode_chunk", encode_chunk)
    return seen


def test_a_failed_chunk_fails_the_video_and_a_rerun_finishes_it_once(
    aws: Aws, pipeline: Pipeline, encodes: dict, tmp_path: Path
):
    # Given a 13 s clip (three chunks of 6 s in the test stage) whose chunk 1 cannot be encoded
    clip = make_clip(tmp_path / "clip.mp4", width=160, height=90, seconds=13)
    ready_tap = aws.tap(aws.name("metadata", "CatalogEventsTopic"))

    # When it is uploaded
    run = pipeline.upload(clip, "clip.mp4")

    # Then chunk 1 was tried three times, the video is FAILED naming it, and nothing was published
    assert sorted(encodes["chunks"]).count(1) == 3
    [failed] = run.events
    assert (failed["event_type"], failed["reason_code"]) == ("VideoTranscodeFailed", "TRANSCODE_FAILED")
    assert failed["chunk"] == {"index": 1, "start_seconds": 6.0, "end_seconds": 12.0}
    assert run.item and run.item["status"] == "FAILED" and run.item["failure"]["chunk"]["index"] == 1
    bucket = aws.name("transcode", "TranscodedBucket")
    written = aws.keys(bucket, f"videos/{run.video_id}/")
    # chunks are kept for the rerun; no finished playlist, only the growing stream's over chunk 0 (0-6 s)
    assert written and not [k for k in written if k.endswith("90p.mp4")]
    assert_not_finished(aws, written)
    [growing] = [k for k in written if k.endswith("/90p/index.m3u8")]
    assert _seconds(_playlist(aws, growing)) == pytest.approx(6, abs=0.1)
    [execution] = pipeline.transcode.executions(run.video_id)
    assert execution["status"] == "FAILED"

    # When the chunk can be encoded again (a fix deployed) and the video's workflow is rerun
    encodes["broken"].clear()
    encodes["chunks"].clear()
    tap = aws.tap(aws.name("transcode", "VideoEventsTopic"))
    sfn, machine = pipeline.transcode.sfn, pipeline.transcode.machine
    done = rerun(sfn, machine, run.video_id, act=True)
    pipeline.transcode.settle()
    events = aws.drain(tap)
    for event in events:
        assert pipeline.catalog.on_video_event(sqs_event(json.dumps(event)), Context()) == {"batchItemFailures": []}

    # Then only the missing chunk was encoded, the video is READY, and VideoReady was announced once
    assert done.how == "new execution" and done.started  # moto offers no redrive
    assert encodes["chunks"] == [1]
    assert [e["event_type"] for e in events if e["event_type"] != "VideoTranscodeProgress"] == ["VideoTranscoded"]
    item = pipeline.catalog.item(run.video_id)
    assert item and item["status"] == "READY"
    # And the growing stream's playlist, at the same key, is now the finished one over the three chunks
    finished = _playlist(aws, growing)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in finished and finished.rstrip().endswith("#EXT-X-ENDLIST")
    assert _seconds(finished) == pytest.approx(13, abs=0.1)
    ready = [e for e in aws.drain(ready_tap) if e["event_type"] == "VideoReady"]
    assert [e["video_id"] for e in ready] == [run.video_id]
    statuses = {e["name"]: e["status"] for e in pipeline.transcode.executions(run.video_id)}
    assert sorted(statuses.values()) == ["FAILED", "SUCCEEDED"]

    # And a second rerun has nothing to do
    with pytest.raises(Exception, match="nothing to run again"):
        rerun(sfn, machine, run.video_id, act=True)
