"""One function's process, run the way Lambda runs it.

Started by the local stack as its own process (like a Lambda container, with the
function's own environment). A function with an `sqs` event runs its event source
mapping (infra.event_source: long-poll the queue, hand each batch to the handler,
delete what succeeded, leave the reported failures), so SQS's redrive moves a
message that keeps failing to the DLQ after maxReceiveCount. Any other function
(API routes, authorizers) serves direct invocations on a loopback port.

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
import io
import json
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, TextIO

import boto3

from infra import Function, Invocable
from infra.event_source import EventSourceMapping, LambdaContext

RETRY_DELAY = int(os.environ.get("DEVSTACK_RETRY_DELAY", "1"))


class LogShipper(io.TextIOBase):
    """Stands in for stdout/stderr: passes everything on, and ships each invocation's lines to CloudWatch Logs."""

    def __init__(self, passthrough: TextIO, group: str) -> None:
        self._passthrough, self._group, self._partial = passthrough, group, ""
        self._lines: list[tuple[int, str]] = []
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


def capture_logs(function: Invocable) -> LogShipper:
    """Route stdout and stderr through one shipper; call before the handler (and its Logger) is imported."""
    shipper = LogShipper(sys.stdout, function.log_group)
    sys.stdout = sys.stderr = shipper
    return shipper


def announce(function: Invocable, **fields: Any) -> None:
    """A line about the worker itself (not the function's output): to the worker's log file only."""
    print(json.dumps({"worker": function.key, **fields}), file=sys.__stdout__, flush=True)


def serve_invocations(function: Invocable) -> None:
    """Direct invocation (API routes, authorizers): POST an event, get the result or the error back."""
    logs = capture_logs(function)
    handler = function.load_handler()

    class Invoke(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            event = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            try:
                answer = {"result": handler(event, LambdaContext.invoking(function))}
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
    announce(function, invoke_port=port, status="ready")
    server.serve_forever()


def consume_queue(function: Function) -> None:
    """The function's event source mapping, polling until SIGTERM or SIGINT."""
    logs = capture_logs(function)
    mapping = EventSourceMapping(
        boto3.client("sqs"), function, function.load_handler(), retry_delay=RETRY_DELAY, after_invoke=logs.ship
    )
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    announce(function, queue=mapping.queue_name, status="ready")
    while not stopping:
        if outcome := mapping.poll():
            announce(function, **outcome)


def function_from(spec: dict[str, Any]) -> Invocable:
    """The function the local stack passed as JSON (`dataclasses.asdict` of a Function or an Invocable)."""
    spec = spec | {"service_dir": Path(spec["service_dir"])}
    return Function(**spec) if "queue_arn" in spec else Invocable(**spec)


def run(function: Invocable) -> None:
    if isinstance(function, Function):
        consume_queue(function)
    else:
        serve_invocations(function)


if __name__ == "__main__":
    run(function_from(json.loads(sys.argv[1])))
