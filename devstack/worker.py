"""One function's SQS event source mapping, run the way Lambda runs it.

Started by the local stack as its own process (like a Lambda container, with the
function's own environment): it long-polls the function's queue, hands each batch
to the handler as a Lambda SQS event, deletes what succeeded and leaves the
reported failures for redelivery, so SQS's redrive moves a message that keeps
failing to the DLQ after maxReceiveCount.

Local difference: a failed message is made visible again after RETRY_DELAY
seconds instead of the queue's full visibility timeout, so retries happen in
seconds; receive counts and redrive are SQS's own.

Like Lambda, what the function prints during an invocation goes to CloudWatch Logs
(the local endpoint's), in the function's log group `/aws/lambda/{name}`, so tools
that read the logs (`replay peek`'s failure records) work locally too. It is also
kept in the worker's log file.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, TextIO

import boto3

RETRY_DELAY = int(os.environ.get("DEVSTACK_RETRY_DELAY", "1"))


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


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping hands to a function."""
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
    """Which messages to leave for redelivery, as Lambda decides from the handler's answer."""
    if error is not None or not isinstance(response, dict):
        return {m["MessageId"] for m in messages}
    failures = response.get("batchItemFailures") or []
    ids = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    known = {m["MessageId"] for m in messages}
    # An unknown or empty identifier fails the whole batch, as in Lambda.
    return known if ids - known or None in ids or "" in ids else ids


class LogShipper(io.TextIOBase):
    """Stands in for stdout/stderr: passes everything on, and ships each invocation's lines to CloudWatch Logs."""

    def __init__(self, passthrough: TextIO, group: str) -> None:
        self._passthrough, self._group, self._lines, self._partial = passthrough, group, [], ""
        self._stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self._logs: Any = None

    def write(self, text: str) -> int:
        self._passthrough.write(text)
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        now = int(time.time() * 1000)
        self._lines.extend((now, line) for line in complete if line.strip())
        return len(text)

    def flush(self) -> None:
        self._passthrough.flush()

    def ship(self) -> None:
        """Send the lines written since the last call (best effort: a local stack never fails on its logs)."""
        lines, self._lines = self._lines, []
        if not lines:
            return
        try:
            if self._logs is None:
                self._logs = boto3.client("logs")
                for create, args in (
                    (self._logs.create_log_group, {"logGroupName": self._group}),
                    (self._logs.create_log_stream, {"logGroupName": self._group, "logStreamName": self._stream}),
                ):
                    with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                        create(**args)
            self._logs.put_log_events(
                logGroupName=self._group,
                logStreamName=self._stream,
                logEvents=[{"timestamp": at, "message": line} for at, line in lines],
            )
        except Exception as exc:  # logging must never break the function
            self._passthrough.write(f"(could not ship logs: {exc})\n")


def capture_logs(spec: dict[str, Any]) -> LogShipper:
    """Route stdout and stderr through one shipper; call before the handler (and its Logger) is imported."""
    shipper = LogShipper(sys.stdout, spec["log_group"])
    sys.stdout = sys.stderr = shipper
    return shipper


def announce(spec: dict[str, Any], **fields: Any) -> None:
    """A line about the worker itself (not the function's output): to the worker's log file only."""
    print(json.dumps({"worker": spec["key"], **fields}), file=sys.__stdout__, flush=True)


def load_handler(spec: dict[str, Any]) -> Any:
    sys.path.insert(0, spec["service_dir"])
    module_name, handler_name = spec["handler"].rsplit(".", 1)
    return getattr(importlib.import_module(module_name.replace("/", ".")), handler_name)


def context_for(spec: dict[str, Any]) -> LambdaContext:
    return LambdaContext(
        function_name=spec["key"],
        memory_limit_in_mb=spec["memory"],
        timeout=spec["timeout"],
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{spec['key']}",
        aws_request_id=str(uuid.uuid4()),
    )


def serve_invocations(spec: dict[str, Any]) -> None:
    """Direct invocation (API routes, authorizers): POST an event, get the result or the error back."""
    logs = capture_logs(spec)
    handler = load_handler(spec)

    class Invoke(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            event = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            try:
                answer = {"result": handler(event, context_for(spec))}
            except Exception as exc:  # reported to the caller, as Lambda reports a function error
                traceback.print_exc()
                answer = {"error": {"type": type(exc).__name__, "message": str(exc)}}
            logs.ship()
            body = json.dumps(answer, default=str).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Invoke)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    port = server.server_address[1]
    announce(spec, invoke_port=port, status="ready")
    server.serve_forever()


class EventSourceMapping:
    """One poll of a function's queue at a time: receive a batch, invoke, delete what succeeded, retry the rest."""

    def __init__(
        self,
        sqs: Any,
        spec: dict[str, Any],
        handler: Callable[[dict, Any], Any],
        *,
        retry_delay: int = RETRY_DELAY,
        after_invoke: Callable[[], None] = lambda: None,
    ) -> None:
        self.sqs, self.spec, self.handler = sqs, spec, handler
        self.retry_delay, self.after_invoke = retry_delay, after_invoke
        self.queue_name = spec["queue_arn"].rsplit(":", 1)[-1]
        self.queue_url = sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]

    def poll(self, wait_seconds: int = 1) -> dict[str, int] | None:
        """Handle one batch; None when the queue had nothing to give."""
        spec, sqs = self.spec, self.sqs
        messages = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(spec["batch_size"], 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return None
        response, error = None, None
        try:
            response = self.handler(sqs_event(messages, spec["queue_arn"]), context_for(spec))
        except Exception as exc:  # a crash fails the whole batch, as in Lambda
            error = exc
            traceback.print_exc()
        self.after_invoke()
        failed = failed_ids(messages, response, error) if spec["reports_batch_failures"] or error else set()
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        for message in messages:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=self.retry_delay
                )
        return {"batch": len(messages), "succeeded": len(done), "failed": len(failed)}


def run(spec: dict[str, Any]) -> None:
    if not spec.get("queue_arn"):
        serve_invocations(spec)
        return
    logs = capture_logs(spec)
    mapping = EventSourceMapping(boto3.client("sqs"), spec, load_handler(spec), after_invoke=logs.ship)
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    announce(spec, queue=mapping.queue_name, status="ready")
    while not stopping:
        if outcome := mapping.poll():
            announce(spec, **outcome)


if __name__ == "__main__":
    run(json.loads(sys.argv[1]))
