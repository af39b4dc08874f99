"""Redrive with SQS's own StartMessageMoveTask where the endpoint offers it, one by one where it does not."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from replay.core import ReplayError, redrive

pytestmark = pytest.mark.service("tools")

DLQ, SOURCE = "video24-transcode-dev-transcode-dlq", "video24-transcode-dev-transcode"
ARN = "arn:aws:sqs:us-east-1:123456789012:"


def _client():
    return boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _names(stub: Stubber) -> None:
    for name in (DLQ, SOURCE):
        stub.add_response("get_queue_url", {"QueueUrl": f"https://sqs/{name}"}, {"QueueName": name})
    for name in (DLQ, SOURCE):
        stub.add_response(
            "get_queue_attributes",
            {"Attributes": {"QueueArn": ARN + name}},
            {"QueueUrl": f"https://sqs/{name}", "AttributeNames": ["QueueArn"]},
        )


def _task(status: str, moved: int, **extra: str) -> dict:
    return {"Results": [{"Status": status, "ApproximateNumberOfMessagesMoved": moved, **extra}]}


def test_the_move_task_is_used_and_followed_to_the_end() -> None:
    # Given an endpoint that offers StartMessageMoveTask (AWS)
    sqs, mover = _client(), _client()
    with Stubber(sqs) as stub, Stubber(mover) as move_stub:
        _names(stub)
        move_stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "h"},
            {"SourceArn": ARN + DLQ, "DestinationArn": ARN + SOURCE, "MaxNumberOfMessagesPerSecond": 20},
        )
        for status, moved in (("RUNNING", 1), ("RUNNING", 2), ("COMPLETED", 3)):
            stub.add_response(
                "list_message_move_tasks", _task(status, moved), {"SourceArn": ARN + DLQ, "MaxResults": 1}
            )
        seen: list[int] = []
        # When the DLQ is redriven at 20 messages a second
        moved = redrive(sqs, DLQ, SOURCE, rate=20, progress=seen.append, mover=mover, poll_seconds=0)
        # Then SQS moved them (no message was received here) and progress followed the task
        assert moved == 3 and seen == [1, 2, 3]
        stub.assert_no_pending_responses()


def test_a_failed_move_task_is_a_clear_error() -> None:
    sqs, mover = _client(), _client()
    with Stubber(sqs) as stub, Stubber(mover) as move_stub:
        _names(stub)
        move_stub.add_response("start_message_move_task", {"TaskHandle": "h"})
        stub.add_response("list_message_move_tasks", _task("FAILED", 1, FailureReason="AccessDenied"))
        with pytest.raises(ReplayError, match="the move task failed: AccessDenied"):
            redrive(sqs, DLQ, SOURCE, mover=mover, poll_seconds=0)


def test_without_the_move_task_messages_move_one_by_one_and_are_deleted_after_their_send() -> None:
    # Given an endpoint without StartMessageMoveTask (the local stack answers 500) and one message in the DLQ
    sqs, mover = _client(), _client()
    notices: list[str] = []
    with Stubber(sqs) as stub, Stubber(mover) as move_stub:
        _names(stub)
        move_stub.add_client_error("start_message_move_task", service_error_code="500", http_status_code=500)
        message = {"MessageId": "m", "ReceiptHandle": "r", "Body": "{}", "MessageAttributes": {}}
        stub.add_response("receive_message", {"Messages": [message]})
        sent = {"QueueUrl": f"https://sqs/{SOURCE}", "MessageBody": "{}", "MessageAttributes": {}}
        stub.add_response("send_message", {"MessageId": "n"}, sent)
        stub.add_response("delete_message", {}, {"QueueUrl": f"https://sqs/{DLQ}", "ReceiptHandle": "r"})
        stub.add_response("receive_message", {"Messages": []})
        # When it is redriven
        moved = redrive(sqs, DLQ, SOURCE, rate=0, mover=mover, notice=notices.append)
        # Then it was sent, then deleted, and the fallback was said
        assert moved == 1 and "one by one" in notices[0]
        stub.assert_no_pending_responses()
