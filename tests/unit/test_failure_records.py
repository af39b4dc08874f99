"""Failure records: what a handler logs when it gives up on a message, and how `peek` finds it again."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from contracts import UnreadableMessage
from lambdakit.failures import FAILURE_RECORD, RecordingBatchProcessor, failure_code
from replay.core import failure_records

pytestmark = pytest.mark.service("shared")


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "slow down"}}, "PutObject")


def _wrapped() -> Exception:
    try:
        try:
            raise _client_error("SlowDown")
        except ClientError as exc:
            raise S3UploadFailedError("Failed to upload a.mp4 to b/k: SlowDown") from exc
    except S3UploadFailedError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UnreadableMessage("not JSON"), "UNREADABLE_MESSAGE"),
        (_client_error("ThrottlingException"), "AWS.ThrottlingException"),
        (_wrapped(), "AWS.SlowDown"),
        (EndpointConnectionError(endpoint_url="https://s3"), "AWS.EndpointConnectionError"),
        (TimeoutError("ffmpeg took too long"), "TimeoutError"),
    ],
)
def test_the_code_names_the_cause(error: Exception, code: str) -> None:
    assert failure_code(error) == code


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def error(self, msg: str, *, extra: dict[str, Any]) -> None:
        self.lines.append((msg, extra))


def _record(message_id: str, body: str, receive_count: int = 3) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "r",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }


def test_each_failed_message_gets_one_record_with_what_it_was_about() -> None:
    # Given a batch of a good message, one that fails on AWS, and an unreadable one
    key = "uploads/alice/abcdef0123456789/a.mp4"
    upload = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": "up"}, "object": {"key": key, "eTag": "e"}}}]})  # fmt: skip
    logger = Recorder()
    processor = RecordingBatchProcessor(logger)

    def handle(record: Any) -> None:
        if record.message_id == "aws":
            raise _client_error("ProvisionedThroughputExceededException")
        if record.message_id == "bad":
            raise UnreadableMessage("not JSON: JSONDecodeError")

    event = {"Records": [_record("ok", upload), _record("aws", upload, 4), _record("bad", "garbage")]}
    # When the processor runs the batch
    with processor(event["Records"], handle):
        processor.process()
    response = processor.response()
    # Then only the two failures are reported, each with one failure record
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["aws", "bad"]
    assert [msg for msg, _ in logger.lines] == [FAILURE_RECORD, FAILURE_RECORD]
    aws_failure, bad_failure = (extra["failure"] for _, extra in logger.lines)
    assert aws_failure == {
        "code": "AWS.ProvisionedThroughputExceededException",
        "message": "An error occurred (ProvisionedThroughputExceededException) when calling the PutObject "
        "operation: slow down",
        "message_id": "aws",
        "receive_count": 4,
        "event": "ObjectCreated:Put",
        "key": "uploads/alice/abcdef0123456789/a.mp4",
        "video_id": "abcdef0123456789",
        "correlation_id": aws_failure["correlation_id"],
    }
    assert bad_failure == {
        "code": "UNREADABLE_MESSAGE",
        "message": "not JSON: JSONDecodeError",
        "message_id": "bad",
        "receive_count": 3,
        "event": "unreadable",
    }


def _log_line(message_id: str, code: str) -> str:
    return json.dumps({"level": "ERROR", "message": FAILURE_RECORD, "correlation_id": "c-1",
                       "failure": {"code": code, "message": "m", "message_id": message_id}})  # fmt: skip


def test_peek_finds_the_latest_record_of_each_message_in_the_consumers_logs() -> None:
    with mock_aws():
        # Given a consumer's log group with two attempts at one message, one at another, and other lines
        logs = boto3.client("logs", region_name="us-east-1")
        logs.create_log_group(logGroupName="/aws/lambda/f")
        logs.create_log_stream(logGroupName="/aws/lambda/f", logStreamName="s")
        now = int(time.time() * 1000)
        lines = [
            (now, _log_line("m1", "AWS.SlowDown")),
            (now + 1, '{"level": "INFO", "message": "ready"}'),
            (now + 2, _log_line("m2", "UNREADABLE_MESSAGE")),
            (now + 3, "not json at all, failure_record"),
            (now + 2000, "2026-11-26T10:00:00Z req-1 " + _log_line("m1", "AWS.InternalError")),
        ]
        logs.put_log_events(
            logGroupName="/aws/lambda/f",
            logStreamName="s",
            logEvents=[{"timestamp": at, "message": text} for at, text in lines],
        )
        # When peek looks them up (a second group was never created: that function never logged)
        found = failure_records(logs, ["/aws/lambda/f", "/aws/lambda/never-ran"], since_ms=now - 1000)
    # Then each message id has its latest record, with when and the correlation id
    assert {m: r["code"] for m, r in found.items()} == {"m1": "AWS.InternalError", "m2": "UNREADABLE_MESSAGE"}
    assert found["m1"]["at"] == datetime.fromtimestamp((now + 2000) / 1000, UTC).isoformat()
    assert found["m1"]["correlation_id"] == "c-1"
