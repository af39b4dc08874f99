"""What the transcode workflow adds to go wrong, on a 3-chunk clip: a chunk that fails and then succeeds, a chunk
that fails for good, a worker that crashes in the middle of a task, and a task message that comes too late.

The whole stack runs in this process against a moto server that executes the state machine (test stage: 6 s
chunks, retries without a wait), with real ffmpeg; a fault is an injected AWS error or a media adapter that
fails on the chunk it is told to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import mediatools
from contracts import ChunkRef
from contracts.readable import failure_sentence
from tests.integration.conftest import Aws, moto_stack
from tests.integration.faults import Faults, Lambdas, TrackedUpload, dead_letter_depths, empty_queues, install
from tests.integration.pipeline import DownloadingProber, failure_logged
from tests.media import make_clip

pytestmark = pytest.mark.service("transcode")

CHUNKS = [(0, 0, 6), (1, 6, 12), (2, 12, 13)]  # (index, start, end) of a 13 s clip in 6 s chunks


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_stack(server=True) as stack:
        yield stack


@pytest.fixture(autouse=True)
def quiet_queues(aws: Aws) -> Iterator[None]:
    yield
    empty_queues(aws)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """13 s at 160x90 with audio: 3 chunks (0-6, 6-12, 12-13 s), thumbnails at 0 and 10 s."""
    return make_clip(tmp_path_factory.mktemp("workflow-clips") / "three.mp4", width=160, height=90, seconds=13)


@pytest.fixture
def lambdas(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Lambdas:
    return Lambdas(aws, monkeypatch, tmp_path / "work", DownloadingProber(aws.client("s3"), tmp_path))


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    return install(monkeypatch)


def tracked(aws: Aws, clip: Path) -> TrackedUpload:
    return TrackedUpload(aws, clip, rung="90p", chunks=3, thumbnails=2)


class FailingChunk:
    """The media adapter's chunk encoder, raising `error()` for one chunk the first `times` times (None: always)."""

    def __init__(self, encode: Callable[..., Any], index: int, times: int | None, error: Callable[[], Exception]):
        self.encode, self.index, self.times, self.error = encode, index, times, error
        self.attempts: dict[int, int] = {}

    def __call__(self, source: Any, demuxer: str, chunk: Any, *args: Any, **kwargs: Any) -> Any:
        self.attempts[chunk.index] = self.attempts.get(chunk.index, 0) + 1
        if chunk.index == self.index and (self.times is None or self.attempts[chunk.index] <= self.times):
            raise self.error()
        return self.encode(source, demuxer, chunk, *args, **kwargs)


def failing_chunk(
    monkeypatch: pytest.MonkeyPatch, index: int, times: int | None, error: Callable[[], Exception]
) -> FailingChunk:
    from transcode import deps

    media = deps.media_tasks().workflow.media
    failing = FailingChunk(media.encode_chunk, index, times, error)
    monkeypatch.setattr(media, "encode_chunk", failing)
    return failing


def ffmpeg_error() -> Exception:
    return mediatools.MediaToolError("ffmpeg", "Conversion failed! (injected)")


def _chunk_file(index: int):
    return lambda params: "/stream/" in str(params.get("Key", "")) and str(params["Key"]).endswith(f"/c{index:05d}.mp4")


# --- (a) a chunk that fails twice is retried ------------------------------------------------------------------


def test_a_chunk_whose_encode_fails_twice_is_retried_and_the_video_ends_ready_once(
    aws: Aws, lambdas: Lambdas, clip: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given a 3-chunk upload whose middle chunk ffmpeg fails to encode twice
    upload = tracked(aws, clip)
    failing = failing_chunk(monkeypatch, 1, times=2, error=ffmpeg_error)
    # When the stack and the workflow run
    lambdas.run()
    # Then that chunk was encoded on its third attempt, the others once, and the video is READY, announced once
    assert failing.attempts == {0: 1, 1: 3, 2: 1}
    upload.assert_done_exactly_once(lambdas)
    [transcoded] = upload.events("VideoTranscoded")
    assert transcoded["chunks"] == 3 and transcoded["stream"]["duration_seconds"] == pytest.approx(13, abs=0.1)


def test_a_chunk_whose_file_cannot_be_stored_twice_is_retried_and_the_video_ends_ready_once(
    aws: Aws, lambdas: Lambdas, faults: Faults, clip: Path
):
    # Given a 3-chunk upload, and S3 refusing the middle chunk's file twice (the task raises: TaskError)
    upload = tracked(aws, clip)
    rule = faults.fail("s3", "PutObject", where=_chunk_file(1), times=2, kind="5xx")
    # When the stack and the workflow run
    lambdas.run()
    # Then the third attempt stored it, and the video is READY once, from one SUCCEEDED execution
    assert (rule.failed, rule.seen) == (2, 3)
    upload.assert_done_exactly_once(lambdas)


# --- (b) a chunk that fails for good ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["ffmpeg fails", "its file cannot be stored"])
def test_a_chunk_that_fails_for_good_ends_in_one_video_transcode_failed_naming_it(
    aws: Aws,
    lambdas: Lambdas,
    faults: Faults,
    clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    caplog: pytest.LogCaptureFixture,
):
    # Given a 3-chunk upload whose last chunk always fails: ffmpeg's error (a failure the task reports), or
    # S3 refusing its file (an exception of the task, answered as TaskError)
    upload = tracked(aws, clip)
    if how == "ffmpeg fails":
        failing = failing_chunk(monkeypatch, 2, times=None, error=ffmpeg_error)
    else:
        rule = faults.fail("s3", "PutObject", where=_chunk_file(2), times=None, kind="5xx")
    # When the stack and the workflow run
    lambdas.run()
    # Then it was tried 3 times, and the video failed once, naming the chunk; no master playlist, execution FAILED
    assert (failing.attempts[2] if how == "ffmpeg fails" else rule.failed) == 3
    event = upload.assert_failed_once(lambdas, chunk=2)
    index, start, end = CHUNKS[2]
    assert (event["chunk"]["index"], event["chunk"]["start_seconds"]) == (index, start)
    assert event["chunk"]["end_seconds"] == pytest.approx(end, abs=0.1)
    # And its owner reads the sentence, naming the part in words; the chunk and ffmpeg's words are in the log
    assert event["reason"] == failure_sentence("TRANSCODE_FAILED", ChunkRef.model_validate(event["chunk"]))
    assert "from 0:12 to 0:13 of your video" in event["reason"]
    logged = failure_logged(caplog, upload.video_id)
    assert logged["detail"].startswith("chunk 2 (12-13") and logged["correlation_id"] == event["correlation_id"]
    if how == "ffmpeg fails":
        assert "Conversion failed" in logged["detail"] and "Conversion failed" not in event["reason"]
    assert upload.item()["failure"]["chunk"]["index"] == 2


# --- (c) a worker that crashes in the middle of a task ---------------------------------------------------------


def test_a_worker_that_crashes_in_a_chunk_is_retried_by_the_workflow_and_the_video_ends_once(
    aws: Aws, lambdas: Lambdas, clip: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given a 3-chunk upload, and the worker crashing (not a media error) in the first chunk, once
    upload = tracked(aws, clip)
    failing = failing_chunk(monkeypatch, 0, times=1, error=lambda: MemoryError("the worker ran out of memory"))
    # When the stack and the workflow run
    lambdas.run()
    # Then the workflow tried the chunk again, and the video is READY once
    assert failing.attempts == {0: 2, 1: 1, 2: 1}
    upload.assert_done_exactly_once(lambdas)


def test_a_worker_that_dies_before_answering_is_redelivered_and_the_video_ends_once(
    aws: Aws, lambdas: Lambdas, faults: Faults, clip: Path
):
    # Given a 3-chunk upload, and the worker failing to answer its third task (a chunk or the audio: the plan's
    # answer is the first) after doing it
    upload = tracked(aws, clip)
    rule = faults.fail("stepfunctions", "SendTaskSuccess", after=2, times=1)
    # When the stack and the workflow run
    lambdas.run()
    # Then the task message came back, its token was still waiting, the redone task answered it, and the video is
    # READY once
    assert rule.failed == 1 and lambdas.failures("transcode-mediaTasks") == 1
    upload.assert_done_exactly_once(lambdas)


# --- (d) a task message that comes too late ---------------------------------------------------------------------


def test_a_stale_task_message_is_acknowledged_and_skipped(
    aws: Aws, lambdas: Lambdas, clip: Path, monkeypatch: pytest.MonkeyPatch
):
    from transcode.handlers import tasks

    # Given a video the workflow has finished, and the task messages it sent (their tokens are answered)
    upload = tracked(aws, clip)
    seen: list[str] = []
    real_run = tasks.run_task

    def recording(message: Any, deps: Any) -> dict[str, Any]:
        seen.append(message.model_dump_json())
        return real_run(message, deps)

    monkeypatch.setattr(tasks, "run_task", recording)
    lambdas.run()
    upload.assert_done_exactly_once(lambdas)
    before = upload.keys()
    done = len(seen)
    assert {json.loads(m)["task"] for m in seen} == {"plan", "chunk", "audio", "assemble"}

    # When every one of them is delivered again (a late redelivery), with one whose token never existed
    sqs = aws.client("sqs")
    url = aws.queue_url(lambdas.mappings["transcode-mediaTasks"].queue_name)
    made_up = json.loads(seen[0]) | {"token": "not-a-token"}
    for body in [*seen, json.dumps(made_up)]:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    lambdas.run()

    # Then each was acknowledged (no failure, nothing in a DLQ) and none was done again: no write, no event
    assert len(seen) == done
    assert lambdas.failures("transcode-mediaTasks") == 0
    assert set(dead_letter_depths(aws).values()) == {0}
    assert upload.keys() == before
    published = len(upload.published)
    upload.collect()
    assert len(upload.published) == published
