"""Replaying through SQS on the local stack: peek a DLQ, redrive it, re-emit S3 events for a prefix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from infra import LOCAL_CREDENTIALS, ROOT
from replay.__main__ import main as replay
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.service("tools")


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch):
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def run(stack: Stack, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = replay(["--stage", "local", "--endpoint", stack.endpoint, *args])
    return code, capsys.readouterr().out


def upload_event(stack: Stack, video_id: str) -> str:
    record = {"eventName": "ObjectCreated:Put", "eventTime": "2026-11-26T10:00:00Z", "s3": {
        "bucket": {"name": stack.name("upload", "UploadsBucket")},
        "object": {"key": f"uploads/erin/{video_id}/lost.mp4", "size": 10, "eTag": "e1"}}}  # fmt: skip
    return json.dumps({"Records": [record]})


def test_peek_shows_the_dlq_and_redrive_processes_it_exactly_once(stack: Stack, capsys):
    # Given an upload event that failed its way into the catalog's DLQ (and whose cause is now fixed)
    video_id = uuid.uuid4().hex
    dlq = stack.queue_url(stack.name("metadata", "CatalogUploadsDLQ"))
    stack.sqs.send_message(QueueUrl=dlq, MessageBody=upload_event(stack, video_id))
    # When a team member peeks at it
    code, out = run(stack, capsys, "peek", "metadata-local-uploads-dlq")
    [message] = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and message["event"] == "ObjectCreated:Put" and video_id in message["key"]
    # And a dry run says what would move, moving nothing
    code, out = run(stack, capsys, "redrive", "metadata-local-uploads-dlq")
    assert code == 0 and "would move 1" in out and stack.item(video_id) is None
    # Then a redrive moves it back and the catalog records it, once
    code, out = run(stack, capsys, "redrive", "metadata-local-uploads-dlq", "--yes")
    assert code == 0 and "moved 1" in out
    stack.wait_for("the redriven upload recorded", lambda: stack.item(video_id))
    stack.idle()
    assert run(stack, capsys, "redrive", "metadata-local-uploads-dlq", "--yes")[1].startswith("\nmoved 0")
    assert stack.item(video_id)["status"] == "UPLOADED"


def test_reemit_changes_nothing_for_processed_objects_and_rebuilds_what_was_lost(
    stack: Stack, small_clip: Path, capsys
):
    # Given a READY video
    video_id = stack.upload(small_clip, "kept.mp4", owner="frank")
    ready = stack.final_item(video_id)
    stack.idle()
    ready = stack.item(video_id)
    prefix = f"uploads/frank/{video_id}/"
    bucket = stack.name("upload", "UploadsBucket")
    # When its S3 events are re-emitted to the catalog and the transcoder
    for queue in ("metadata-local-uploads", "transcode-local-transcode"):
        code, out = run(stack, capsys, "reemit", "--bucket", bucket, "--prefix", prefix, "--to", queue, "--yes")
        assert code == 0 and "sent 1" in out
    stack.idle()
    # Then nothing changed
    assert stack.item(video_id) == ready
    # And when the catalog lost the item, re-emitting rebuilds it
    stack.table.delete_item(Key={"video_id": video_id})
    run(stack, capsys, "reemit", "--bucket", bucket, "--prefix", prefix, "--to", "metadata-local-uploads", "--yes")
    rebuilt = stack.wait_for("the item rebuilt", lambda: stack.item(video_id))
    assert rebuilt["owner"] == "frank" and rebuilt["title"] == "kept.mp4"


def test_unknown_queues_get_a_clear_error(stack: Stack, capsys):
    code = replay(["--stage", "local", "--endpoint", stack.endpoint, "peek", "no-such-queue"])
    assert code == 2 and "no single queue matches" in capsys.readouterr().err


def test_peek_says_why_each_message_failed(stack: Stack, capsys):
    # Given a message the transcoder cannot read, retried until SQS moved it to the DLQ
    queue = stack.queue_url(stack.name("transcode", "TranscodeQueue"))
    sent = stack.sqs.send_message(QueueUrl=queue, MessageBody="this is not an event")["MessageId"]
    dlq = stack.name("transcode", "TranscodeDLQ")
    stack.wait_for("the DLQ to hold it", lambda: stack.dlq_bodies()[dlq], timeout=60)
    # When a team member peeks at the DLQ
    code, out = run(stack, capsys, "peek", "transcode-local-transcode-dlq")
    [message] = [json.loads(line) for line in out.splitlines()]
    # Then it shows the message with the failure record the handler logged on its last attempt
    assert code == 0 and message["message_id"] == sent and message["event"] == "unreadable"
    failure = message["failure"]
    assert failure["code"] == "UNREADABLE_MESSAGE" and failure["message"].startswith("not JSON")
    assert failure["receive_count"] == 5 and failure["at"]
    stack.sqs.purge_queue(QueueUrl=stack.queue_url(dlq))


def test_the_readme_commands_work_on_a_machine_without_aws_credentials(stack: Stack, tmp_path: Path):
    # Given a machine with no AWS configuration at all (no AWS_* variables, an empty HOME)
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")} | {"HOME": str(tmp_path)}
    name = stack.name("transcode", "TranscodeDLQ")
    dlq = stack.queue_url(name)
    stack.sqs.send_message(QueueUrl=dlq, MessageBody="this is not an event")
    # When the README's peek runs against the local stack
    command = ["--stage", "local", "--endpoint", stack.endpoint, "peek", "transcode-dlq"]
    done = subprocess.run(
        [sys.executable, "-m", "replay", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    # Then it signs with the local stack's credentials by itself and shows the queue
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"1 message(s) in {name}"
    assert json.loads(done.stdout)["event"] == "unreadable"
    for message in stack.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]:
        stack.sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
