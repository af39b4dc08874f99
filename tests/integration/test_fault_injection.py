"""Every AWS call a queue handler makes, failing: once (retried, right end state, nothing twice), and for
good (the message reaches its DLQ; a redrive after the fault clears finishes the job exactly once).

The whole stack's consumers run in this process against moto behind the local stack's event
source mapping, so SQS's receive counts and redrive policies are real (maxReceiveCount 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contracts import SourceObject, VideoDeleted
from lambdakit.sns import SnsPublisher
from replay.core import redrive
from tests.integration.conftest import Aws
from tests.integration.faults import Faults, Lambdas, TrackedUpload, dead_letter_depths, install
from tests.integration.pipeline import DownloadingProber
from tests.media import make_clip

pytestmark = pytest.mark.service("upload", "transcode", "metadata")


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

    def matches(self, aws: Aws):
        return (lambda params: self.where(aws, params)) if self.where else (lambda params: True)


def _bucket(service: str, logical_id: str):
    return lambda aws, params: params.get("Bucket") == aws.name(service, logical_id)


def _rendition(aws: Aws, params: dict[str, Any]) -> bool:
    return params.get("Bucket") == aws.name("transcode", "TranscodedBucket") and params["Key"].endswith(".mp4")


def _table(service: str, logical_id: str):
    return lambda aws, params: params.get("TableName") == aws.name(service, logical_id)


def _suffix(suffix: str):
    return lambda aws, params: str(params.get("Key", "")).endswith(suffix)


def _status(word: str):
    """An UpdateItem that writes this status (or attribute)."""
    return lambda aws, params: (
        word in f"{params.get('ExpressionAttributeValues')}{params.get('ExpressionAttributeNames')}"
    )


def _topic(service: str, logical_id: str):
    return lambda aws, params: params.get("TopicArn") == aws.name(service, logical_id)


TRANSCODE, UPLOADS, VIDEO_EVENTS = "transcode-transcode", "metadata-recordUpload", "metadata-recordVideoEvent"

PIPELINE_CALLS = [
    Call("transcode reads its manifest", TRANSCODE, "s3", "GetObject", _suffix("manifest.json")),
    Call("transcode looks for a deletion", TRANSCODE, "dynamodb", "GetItem", _table("transcode", "DeletedVideosTable")),
    Call("transcode checks the upload", TRANSCODE, "s3", "HeadObject", _bucket("upload", "UploadsBucket")),
    Call("transcode downloads the upload", TRANSCODE, "s3", "GetObject", _bucket("upload", "UploadsBucket")),
    Call("transcode stores a rendition", TRANSCODE, "s3", "PutObject", _suffix(".mp4")),
    Call("transcode stores the poster", TRANSCODE, "s3", "PutObject", _suffix(".jpg")),
    Call("transcode publishes its event", TRANSCODE, "sns", "Publish", _topic("transcode", "VideoEventsTopic")),
    Call("transcode writes its manifest", TRANSCODE, "s3", "PutObject", _suffix("manifest.json")),
    Call("catalog records the upload", UPLOADS, "dynamodb", "UpdateItem", _status("UPLOADED")),
    Call("catalog reads the item", VIDEO_EVENTS, "dynamodb", "GetItem", _table("metadata", "CatalogTable")),
    Call("catalog marks it PROCESSING", VIDEO_EVENTS, "dynamodb", "UpdateItem", _status("PROCESSING")),
    Call("catalog reads a rendition", VIDEO_EVENTS, "s3", "GetObject", _rendition),
    Call("catalog marks it READY", VIDEO_EVENTS, "dynamodb", "UpdateItem", _status("READY")),
    Call("catalog publishes VideoReady", VIDEO_EVENTS, "sns", "Publish", _topic("metadata", "CatalogEventsTopic")),
    Call("catalog notes the announcement", VIDEO_EVENTS, "dynamodb", "UpdateItem", _status("ready_published")),
]
DELETION_CALLS = [
    Call("transcode remembers the deletion", "transcode-deleteRenditions", "dynamodb", "PutItem"),
    Call("transcode lists the renditions", "transcode-deleteRenditions", "s3", "ListObjectsV2"),
    Call("transcode deletes the renditions", "transcode-deleteRenditions", "s3", "DeleteObjects"),
    Call("upload deletes the source", "upload-deleteSource", "s3", "DeleteObject"),
]


def dead_letter_of(aws: Aws, call: Call) -> str:
    queue = aws.topology.queue(aws.function(call.function).queue_arn.rsplit(":", 1)[-1])
    return queue.dead_letter_arn.rsplit(":", 1)[-1]


def redrive_all(aws: Aws) -> int:
    """What `make replay ARGS="redrive QUEUE --yes"` does, for every DLQ that holds something."""
    moved, waiting = 0, dead_letter_depths(aws)
    for queue in aws.topology.queues:
        if queue.dead_letter_arn and waiting[dead_letter := queue.dead_letter_arn.rsplit(":", 1)[-1]]:
            moved += redrive(aws.client("sqs"), dead_letter, queue.name, rate=0, wait_seconds=0)
    return moved


@pytest.mark.parametrize("call", PIPELINE_CALLS, ids=lambda call: call.label)
def test_a_call_that_fails_once_is_retried_and_the_video_ends_ready_once(
    aws: Aws, lambdas: Lambdas, faults: Faults, tiny_clip: Path, call: Call
):
    # Given an upload, and one failure of this call (as the SDK reports it after its own retries)
    upload = TrackedUpload(aws, tiny_clip)
    rule = faults.fail(call.service, call.operation, where=call.matches(aws), times=1)
    # When the stack's consumers run until every queue is quiet
    lambdas.run()
    # Then the fault was hit, the message was retried, and the end state is as if nothing had failed
    assert rule.failed == 1
    assert lambdas.failures(call.function) == 1
    upload.assert_done_exactly_once()


@pytest.mark.parametrize("call", PIPELINE_CALLS, ids=lambda call: call.label)
def test_a_call_that_keeps_failing_dead_letters_the_message_and_a_redrive_finishes_it_once(
    aws: Aws, lambdas: Lambdas, faults: Faults, tiny_clip: Path, call: Call, caplog: pytest.LogCaptureFixture
):
    # Given an upload, and this call failing every time
    upload = TrackedUpload(aws, tiny_clip)
    faults.fail(call.service, call.operation, where=call.matches(aws), times=None, kind="5xx")
    # When the consumers run until the queues are quiet
    lambdas.run()
    # Then the message sits in its queue's DLQ after maxReceiveCount attempts, and each attempt left a failure record
    assert {name: n for name, n in dead_letter_depths(aws).items() if n} == {dead_letter_of(aws, call): 1}
    records = [r.failure for r in caplog.records if r.getMessage() == "failure_record"]
    assert {r["video_id"] for r in records} == {upload.video_id}
    assert len(records) == 5 and records[-1]["receive_count"] == 5
    assert {r["code"] for r in records} <= {"AWS.InternalError", "AWS.InternalServerError", "AWS.InternalFailure"}
    # And when the fault clears and the DLQ is redriven
    faults.clear()
    assert redrive_all(aws) == 1
    lambdas.run()
    # Then the job is finished, exactly once in effect
    upload.assert_done_exactly_once()


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
    upload.assert_done_exactly_once()
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
    assert {name: n for name, n in dead_letter_depths(aws).items() if n} == {dead_letter_of(aws, call): 1}
    # And a redrive after the fault clears finishes it
    faults.clear()
    assert redrive_all(aws) == 1
    lambdas.run()
    assert_deleted(aws, ready_upload)
