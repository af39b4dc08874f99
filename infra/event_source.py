"""How AWS acts on a function's declared `sqs` event: Lambda's SQS event source mapping.

It receives up to `batchSize` messages, hands them to the function as one SQS event,
deletes what succeeded and leaves the rest for redelivery; with
`functionResponseType: ReportBatchItemFailures` only the messages the function names
in `batchItemFailures` are left, otherwise (or when the function raises) the whole
batch. SQS's own receive counts and redrive policy then move a message that keeps
failing to its DLQ. Shared by the local stack's worker processes and the tests that
run the consumers in-process against `mock_aws`.
"""

from __future__ import annotations

import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.account import function_arn
from infra.topology import Function, Invocable

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    timeout: int
    invoked_function_arn: str
    aws_request_id: str = ""
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    @classmethod
    def invoking(cls, function: Invocable) -> LambdaContext:
        """The context of one invocation of a function (a fresh request id, the function's timeout)."""
        return cls(
            function_name=function.key,
            memory_limit_in_mb=function.memory,
            timeout=function.timeout,
            invoked_function_arn=function_arn(function.key),
            aws_request_id=str(uuid.uuid4()),
        )


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda hands a function for messages as SQS ReceiveMessage returns them."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3],
            }
            for m in messages
        ]
    }


def failed_ids(messages: list[dict[str, Any]], response: Any, error: BaseException | None) -> set[str]:
    """Which messages to leave for redelivery, as Lambda reads a partial batch response."""
    if error is not None or not isinstance(response, dict):
        return {m["MessageId"] for m in messages}
    failures = response.get("batchItemFailures") or []
    ids = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    known: set[str] = {m["MessageId"] for m in messages}
    # An unknown or empty identifier fails the whole batch, as in Lambda.
    return known if ids - known or None in ids or "" in ids else {str(i) for i in ids}


class EventSourceMapping:
    """One poll of a function's queue at a time: receive a batch, invoke, delete what succeeded, retry the rest.

    `retry_delay` None leaves a failed message invisible for the queue's visibility
    timeout, as Lambda does; a number of seconds makes it visible again sooner (the
    local stack's shortcut, so retries take seconds).
    """

    def __init__(
        self,
        sqs: Any,
        function: Function,
        handler: Handler,
        *,
        retry_delay: int | None = None,
        after_invoke: Callable[[], None] = lambda: None,
        queue_url: str | None = None,
    ) -> None:
        self.sqs, self.function, self.handler = sqs, function, handler
        self.retry_delay, self.after_invoke = retry_delay, after_invoke
        self.queue_name = function.queue_arn.rsplit(":", 1)[-1]
        self.queue_url = queue_url or sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]

    def poll(self, wait_seconds: int = 1) -> dict[str, int] | None:
        """Handle one batch; None when the queue had nothing to give."""
        function, sqs = self.function, self.sqs
        messages = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(function.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return None
        response, error = None, None
        try:
            response = self.handler(sqs_event(messages, function.queue_arn), LambdaContext.invoking(function))
        except Exception as exc:  # a crash fails the whole batch, as in Lambda
            error = exc
            traceback.print_exc()
        self.after_invoke()
        failed = failed_ids(messages, response, error) if function.reports_batch_failures or error else set()
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if self.retry_delay is not None:
            for message in messages:
                if message["MessageId"] in failed:
                    sqs.change_message_visibility(
                        QueueUrl=self.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=self.retry_delay,
                    )
        return {"batch": len(messages), "succeeded": len(done), "failed": len(failed)}
