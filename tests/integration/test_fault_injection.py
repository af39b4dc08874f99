"""Every AWS call a queue handler makes, failing: once (retried, right end state, nothing twice), and for
good (the messages reach their DLQs; a redrive after the fault clears finishes the job exactly once).

The whole stack's consumers run in this process behind the local stack's event source mapping, against a
moto server that also executes the transcode workflow, so SQS's receive counts and redrive policies are real
(maxReceiveCount 5). A fault in one of the workflow's tasks is not a queue's business: the media tasks
function answers the task with a failure and the workflow's Retry (3 attempts a chunk or the audio) decides,
so a fault that clears is retried there and one that stays ends in VideoTranscodeFailed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contracts import SourceObject, VideoDeleted
from contracts.delivery import published_event
from lambdakit.sns import SnsPublisher
from replay.core import redrive
from tests.integration.conftest import Aws, moto_stack
from tests.integration.faults import Faults, Lambdas, TrackedUpload, dead_letter_depths, empty_queues, install
from tests.integration.pipeline import DownloadingProber
from tests.media import make_clip

pytestmark = pytest.mark.service("upload", "transcode", "metadata")


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    """One moto server for the module (each test has its own video; every test leaves the queues empty)."""
    with moto_stack(server=True) as stack:
        yield stack


@pytest.fixture(autouse=True)
def quiet_queues(aws: Aws) -> Iterator[None]:
    yield
    empty_queues(aws)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    return install(monkeypatch)


@pytest.fixture
def lambdas(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Lambdas:
    return Lambdas(aws, monkeypatch, tmp_path / "work", DownloadingProber(aws.client("s3"), tmp_path))


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("fault-clips") / "tiny.mp4", width=320, height=180, seconds=1)


@dataclass(frozen=True)
class Call:
    """One AWS call a handler makes, told apart from the others by its parameters."""

    label: str
    function: str  # the handler making the call (its queue's DLQ is where the message ends up)
    service: str
    operation: str
    where: Any = None  # (aws, params) -> bool
    # made by both catalog consumers (announcing a status change): a lasting fault dead-letters a message of each
    both_consumers: bool = False

    def matches(self, aws: Aws):
        return (lambda params: self.where(aws, params)) if self.where else (lambda params: True)

    @property
    def consumers(self) -> tuple[str, ...]:
        """The handlers whose messages a lasting failure of the call leaves in their DLQs."""
        return (UPLOADS, VIDEO_EVENTS) if self.both_consumers else (self.function,)


def _bucket(service: str, logical_id: str):
    return lambda aws, params: params.get("Bucket") == aws.name(service, logical_id)


def _download(aws: Aws, params: dict[str, Any]) -> bool:
    """The MP4 download of a rung (videos/{id}/{rung}.mp4), not a chunk of the stream."""
    key = str(params.get("Key", ""))
    return (
        params.get("Bucket") == aws.name("transcode", "TranscodedBucket")
        and key.endswith(".mp4")
        and ("/stream/" not in key)
    )


def _table(service: str, logical_id: str):
    return lambda aws, params: params.get("TableName") == aws.name(service, logical_id)


def _suffix(suffix: str):
    return lambda aws, params: str(params.get("Key", "")).endswith(suffix)


def _stream(part: str):
    """A key (or a listed prefix) of the video's stream folder (stream/{tag}/...) holding this part."""

    def where(aws: Aws, params: dict[str, Any]) -> bool:
        key = str(params.get("Key") or params.get("Prefix") or "")
        return "/stream/" in key and part in key

    return where


def _playlist(*, ended: bool):
    """A PutObject of a media playlist: the finished stream's (VOD, with its end), or the growing stream's (EVENT)."""

    def where(aws: Aws, params: dict[str, Any]) -> bool:
        body = params.get("Body")
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
        return str(params.get("Key", "")).endswith("/index.m3u8") and ("#EXT-X-ENDLIST" in text) == ended

    return where


def _status(word: str):
    """An UpdateItem that writes this status (or attribute)."""
    return lambda aws, params: (
        word in f"{params.get('ExpressionAttributeValues')}{params.get('ExpressionAttributeNames')}"
    )


def _announced(event_type: str):
    """A Publish to catalog-events of this event type."""
    return lambda aws, params: (
        params.get("TopicArn") == aws.name("metadata", "CatalogEventsTopic")
        and "Message" in params
        and published_event(params).get("event_type") == event_type
    )


def _event(event_type: str):
    """A Publish to video-events of this event type."""
    return lambda aws, params: (
        params.get("TopicArn") == aws.name("transcode", "VideoEventsTopic")
        and "Message" in params
        and published_event(params).get("event_type") == event_type
    )


START, TASKS = "transcode-startTranscode", "transcode-mediaTasks"
UPLOADS, VIDEO_EVENTS = "metadata-recordUpload", "metadata-recordVideoEvent"

# Calls of the queue consumers: a failure leaves the message in its queue, SQS redelivers it, the DLQ keeps it.
QUEUE_CALLS = [
    Call("transcode starts the workflow", START, "stepfunctions", "StartExecution"),
    Call("a task checks it is still wanted", TASKS, "stepfunctions", "SendTaskHeartbeat"),
    Call("catalog records the upload", UPLOADS, "dynamodb", "UpdateItem", _status("UPLOADED")),
    # the first read of the item: the upload's status change (UPLOADED) is built from it
    Call("catalog reads the item", UPLOADS, "dynamodb", "GetItem", _table("metadata", "CatalogTable"), True),
    Call("catalog announces UPLOADED", UPLOADS, "sns", "Publish", _announced("VideoStatusChanged"), True),
    Call("catalog notes the status announced", UPLOADS, "dynamodb", "UpdateItem", _status("announced_sequence"), True),
    Call("catalog marks it PROCESSING", VIDEO_EVENTS, "dynamodb", "UpdateItem", _status("PROCESSING")),
    Call("catalog reads a download", VIDEO_EVENTS, "s3", "GetObject", _download),
    Call("catalog marks it READY", VIDEO_EVENTS, "dynamodb", "UpdateItem", _status("READY")),
    Call("catalog publishes VideoReady", VIDEO_EVENTS, "sns", "Publish", _announced("VideoReady")),
    Call("catalog notes the announcement", VIDEO_EVENTS, "dynamodb", "UpdateItem", _status("ready_published")),
]
# Calls of a chunk's or the audio's task: the workflow tries the task again (3 attempts in all).
RETRIED_TASK_CALLS = [
    Call("a chunk checks it is not done yet", TASKS, "s3", "GetObject", _stream("/pieces/r0/c00000.json")),
    Call("a chunk stores its file", TASKS, "s3", "PutObject", _stream("/c00000.mp4")),
    Call("a chunk stores a thumbnail", TASKS, "s3", "PutObject", _stream("/thumbs/t")),
    Call("a chunk stores the poster", TASKS, "s3", "PutObject", _suffix("poster.jpg")),
    Call("a chunk stores its record", TASKS, "s3", "PutObject", _stream("/pieces/r0/c00000.json")),
    Call("the audio is stored", TASKS, "s3", "PutObject", _stream("/audio/a00000.mp4")),
    Call("the audio's record is stored", TASKS, "s3", "PutObject", _stream("/audio/pieces/a00000.json")),
    Call("the audio's end is stored", TASKS, "s3", "PutObject", _stream("/audio/done.json")),
    Call("a task answers the workflow", TASKS, "stepfunctions", "SendTaskSuccess"),
]
# Calls of a chunk's progress report, made once its record is written: a retry finds the chunk done.
PROGRESS_CALLS = [
    Call("a chunk lists what is done", TASKS, "s3", "ListObjectsV2", _stream("/pieces/r0/")),
    Call("a chunk publishes progress", TASKS, "sns", "Publish", _event("VideoTranscodeProgress")),
]
# The growing stream's playlists, written after a chunk of round 0 or a piece of the audio is stored: a chunk
# goes on without them (the next writer, or the assembly, writes them), the audio is tried again.
GROWING_CALLS = [
    Call("the growing stream stores a playlist", TASKS, "s3", "PutObject", _playlist(ended=False)),
]
# Calls of the plan and assembly tasks: the media tasks function tries a short task again in place.
IN_PLACE_TASK_CALLS = [
    Call("the plan reads the manifest", TASKS, "s3", "GetObject", _suffix("manifest.json")),
    Call("the plan looks for a deletion", TASKS, "dynamodb", "GetItem", _table("transcode", "DeletedVideosTable")),
    Call("the plan checks the upload", TASKS, "s3", "HeadObject", _bucket("upload", "UploadsBucket")),
    Call("the assembly keeps the finished playlists", TASKS, "s3", "PutObject", _stream("/final.json")),
    Call("the assembly stores a playlist", TASKS, "s3", "PutObject", _playlist(ended=True)),
    Call("the assembly stores a download", TASKS, "s3", "PutObject", _download),
    Call("the assembly publishes VideoTranscoded", TASKS, "sns", "Publish", _event("VideoTranscoded")),
    Call("the assembly writes the manifest", TASKS, "s3", "PutObject", _suffix("manifest.json")),
]
DELETION_CALLS = [
    Call("transcode remembers the deletion", "transcode-deleteRenditions", "dynamodb", "PutItem"),
    Call("transcode lists the renditions", "transcode-deleteRenditions", "s3", "ListObjectsV2"),
    Call("transcode deletes the renditions", "transcode-deleteRenditions", "s3", "DeleteObjects"),
    Call("upload deletes the source", "upload-deleteSource", "s3", "DeleteObject"),
]


def upload_events(upload: TrackedUpload) -> list[dict[str, Any]]:
    """What the transcoder published for the upload so far (the taps keep it)."""
    upload.collect()
    return [e for e in upload.published if e["event_type"].startswith("VideoTranscod")]


def dead_letter_of(aws: Aws, function: str) -> str:
    """The DLQ of the queue feeding this handler."""
    queue = aws.topology.queue(aws.function(function).queue_arn.rsplit(":", 1)[-1])
    return queue.dead_letter_arn.rsplit(":", 1)[-1]


def redrive_all(aws: Aws) -> int:
    """What `make replay ARGS="redrive QUEUE --yes"` does, for every DLQ that holds something."""
    moved, waiting = 0, dead_letter_depths(aws)
    for queue in aws.topology.queues:
        if queue.dead_letter_arn and waiting[dead_letter := queue.dead_letter_arn.rsplit(":", 1)[-1]]:
            moved += redrive(aws.client("sqs"), dead_letter, queue.name, rate=0, wait_seconds=0)
    return moved


@pytest.mark.parametrize("call", QUEUE_CALLS, ids=lambda call: call.label)
def test_a_call_that_fails_once_is_retried_and_the_video_ends_ready_once(
    aws: Aws, lambdas: Lambdas, faults: Faults, tiny_clip: Path, call: Call
):
    # Given an upload, and one failure of this call (as the SDK reports it after its own retries)
    upload = TrackedUpload(aws, tiny_clip)
    rule = faults.fail(call.service, call.operation, where=call.matches(aws), times=1)
    # When the stack's consumers run until every queue is quiet and the workflow has ended
    lambdas.run()
    # Then the fault was hit, the message was retried, and the end state is as if nothing had failed
    assert rule.failed == 1
    assert lambdas.failures(call.function) == 1
    upload.assert_done_exactly_once(lambdas)


@pytest.mark.parametrize(
    "call",
    [
        *RETRIED_TASK_CALLS,
        *PROGRESS_CALLS,
        *GROWING_CALLS,
        *IN_PLACE_TASK_CALLS,
    ],
    ids=lambda call: call.label,
)
def test_a_task_call_that_fails_once_is_retried_by_the_workflow_and_the_video_ends_ready_once(
    aws: Aws, lambdas: Lambdas, faults: Faults, tiny_clip: Path, call: Call
):
    # Given an upload, and one failure of this call in one of the workflow's tasks
    upload = TrackedUpload(aws, tiny_clip)
    rule = faults.fail(call.service, call.operation, where=call.matches(aws), times=1)
    # When the consumers and the workflow run
    lambdas.run()
    # Then the fault was hit, and the end state is as if nothing had failed: one execution, SUCCEEDED
    assert rule.failed == 1
    upload.assert_done_exactly_once(lambdas)


# (a task message that keeps failing its check waits in the DLQ while its state times out: not kept up here)
@pytest.mark.parametrize("call", [c for c in QUEUE_CALLS if c.function != TASKS], ids=lambda call: call.label)
def test_a_call_that_keeps_failing_dead_letters_the_messages_and_a_redrive_finishes_them_once(
    aws: Aws, lambdas: Lambdas, faults: Faults, tiny_clip: Path, call: Call, caplog: pytest.LogCaptureFixture
):
    # Given an upload, and this call failing every time
    upload = TrackedUpload(aws, tiny_clip)
    faults.fail(call.service, call.operation, where=call.matches(aws), times=None, kind="5xx")
    # When the consumers run until the queues are quiet
    lambdas.run()
    # Then the messages of each consumer making the call sit in its queue's DLQ after maxReceiveCount attempts, and
    # no other DLQ holds anything (a call of both catalog consumers: the upload's DLQ and the video events')
    waiting = {name: n for name, n in dead_letter_depths(aws).items() if n}
    assert sorted(waiting) == sorted(dead_letter_of(aws, function) for function in call.consumers)
    sent = len(upload_events(upload))
    for function in call.consumers:
        dead = waiting[dead_letter_of(aws, function)]
        if function != VIDEO_EVENTS:
            assert dead == 1, function  # the upload
        else:  # the video events that reach the call: past PROCESSING (progress, VideoTranscoded); all, announcing
            assert (sent if call.both_consumers else 1) <= dead <= sent, (dead, sent)
    # And each attempt at each dead message left a failure record
    records = [r.failure for r in caplog.records if r.getMessage() == "failure_record"]
    assert {r["video_id"] for r in records} == {upload.video_id}
    attempts = defaultdict(list)
    for record in records:
        attempts[record["message_id"]].append(record["receive_count"])
    assert len(attempts) == sum(waiting.values())
    assert all(sorted(counts) == [1, 2, 3, 4, 5] for counts in attempts.values()), attempts
    assert {r["code"] for r in records} <= {"AWS.InternalError", "AWS.InternalServerError", "AWS.InternalFailure"}
    # And when the fault clears and every DLQ is redriven
    upload.collect()
    faults.clear()
    redriven = len(upload.published)
    assert redrive_all(aws) == sum(waiting.values())
    lambdas.run()
    # Then the job is finished, exactly once in effect, and each change of its status was announced once
    upload.assert_done_exactly_once(lambdas)
    upload.assert_changes_announced_once(since=redriven)


# (a task that keeps failing to answer holds its state until the heartbeat times out: not kept up here)
@pytest.mark.parametrize(
    "call", [c for c in RETRIED_TASK_CALLS if c.operation != "SendTaskSuccess"], ids=lambda call: call.label
)
def test_a_task_call_that_keeps_failing_ends_in_one_video_transcode_failed(
    aws: Aws, lambdas: Lambdas, faults: Faults, tiny_clip: Path, call: Call
):
    # Given an upload, and this call of a chunk's or the audio's task failing every time
    upload = TrackedUpload(aws, tiny_clip)
    rule = faults.fail(call.service, call.operation, where=call.matches(aws), times=None, kind="5xx")
    # When the consumers and the workflow run
    lambdas.run()
    # Then the task was tried 3 times, then the video failed, announced once, with nothing in a DLQ
    assert rule.failed == 3
    event = upload.assert_failed_once(lambdas, chunk=None if "audio" in call.label else 0)
    assert "audio" not in call.label or event["chunk"] is None


def _deleted(aws: Aws, upload: TrackedUpload) -> None:
    event = VideoDeleted(
        correlation_id="c-del",
        video_id=upload.video_id,
        owner="alice",
        source=SourceObject(bucket=aws.name("upload", "UploadsBucket"), key=upload.key, version="e"),
    )
    SnsPublisher(aws.client("sns"), aws.name("metadata", "CatalogEventsTopic")).publish(event)


@pytest.fixture
def ready_upload(aws: Aws, lambdas: Lambdas, tiny_clip: Path) -> TrackedUpload:
    upload = TrackedUpload(aws, tiny_clip)
    lambdas.run()
    upload.assert_done_exactly_once(lambdas)
    return upload


def assert_deleted(aws: Aws, upload: TrackedUpload) -> None:
    assert aws.keys(aws.name("transcode", "TranscodedBucket"), f"videos/{upload.video_id}/") == []
    assert aws.keys(aws.name("upload", "UploadsBucket"), upload.key) == []
    assert set(dead_letter_depths(aws).values()) == {0}


@pytest.mark.parametrize("call", DELETION_CALLS, ids=lambda call: call.label)
def test_a_deletion_call_that_fails_once_is_retried(
    aws: Aws, lambdas: Lambdas, faults: Faults, ready_upload: TrackedUpload, call: Call
):
    # Given a READY video that is deleted, and one failure of this call
    rule = faults.fail(call.service, call.operation, times=1)
    _deleted(aws, ready_upload)
    # When the consumers run
    lambdas.run()
    # Then the retry removed everything of that video
    assert rule.failed == 1
    assert_deleted(aws, ready_upload)


@pytest.mark.parametrize("call", DELETION_CALLS, ids=lambda call: call.label)
def test_a_deletion_call_that_keeps_failing_is_dead_lettered_then_redriven(
    aws: Aws, lambdas: Lambdas, faults: Faults, ready_upload: TrackedUpload, call: Call
):
    # Given a READY video that is deleted while this call keeps failing
    faults.fail(call.service, call.operation, times=None, kind="5xx")
    _deleted(aws, ready_upload)
    lambdas.run()
    # Then the deletion waits in its consumer's DLQ
    assert {name: n for name, n in dead_letter_depths(aws).items() if n} == {dead_letter_of(aws, call.function): 1}
    # And a redrive after the fault clears finishes it
    faults.clear()
    assert redrive_all(aws) == 1
    lambdas.run()
    assert_deleted(aws, ready_upload)


@pytest.mark.parametrize("call", PROGRESS_CALLS, ids=lambda call: call.label)
def test_progress_that_keeps_failing_is_lost_and_the_video_still_ends_ready_once(
    aws: Aws, lambdas: Lambdas, faults: Faults, tiny_clip: Path, call: Call
):
    # Given an upload whose progress report keeps failing
    upload = TrackedUpload(aws, tiny_clip)
    rule = faults.fail(call.service, call.operation, where=call.matches(aws), times=None, kind="5xx")
    # When the consumers and the workflow run
    lambdas.run()
    # Then the chunk's retry found it done (its record was written before the report), and the video is READY once
    # (the audio, when it extends the growing stream, reports too: the fault may be hit again there)
    assert rule.failed >= 1
    upload.assert_done_exactly_once(lambdas)
    assert upload.events("VideoTranscodeProgress") == []
