"""The local stack, run as a user runs it: `python -m devstack up` in its own process.

One stack serves the whole session (`shared_stack` in tests/conftest.py: every e2e module and the browser
tests), started with the test stage's params (quick retries, 6 s chunks, a 1 MiB multipart threshold) and
the website. A module that needs other params or another repository starts its own with `local_stack` and
says why. The fixture starts it on free ports with its own log folder, waits for the ready file it writes
once everything is up, and stops it (SIGTERM, then a kill of its process group) at the end.

The tests reach it only from outside: the endpoints come from the ready file, which is a deployment
description (infra/deployment.py: the same a deployed stage's `python -m tools.deployment` gives), and the
stack's own extras come from the same file (moto's endpoint for boto3 with the local credentials, the
issuer's key for tokens: tests/tokens.py, the logs).

Sharing a stack: each test uses users and videos of its own; a test that dead-letters on purpose takes
what it dead-lettered out of the DLQ before it ends (`take_dead_letters`), so that every DLQ is empty
between tests and a test may assert it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from infra import ROOT, Invocable, load, local_session, queue_arn
from infra.deployment import Deployment
from tests.tokens import Forge

READY_TIMEOUT = 120  # seconds: moto, provisioning and one process per function on a busy 2-core machine
STOP_TIMEOUT = 30
# The shared stack's params: the test stage's, as tests/integration's TEST_PARAMS (quick retries, short chunks for
# short clips), and a multipart threshold that sends the 2 MB clip (big_clip) the multipart way, the small ones by form
SHARED_PARAMS = {"retrySeconds": "0,0", "chunkSeconds": "6", "multipartThresholdBytes": "1048576"}
SHARED_CONCURRENCY = {"metadata-recordUpload": 3}  # tests/e2e/test_concurrency.py: workers sharing a queue


def final(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """The item once READY or FAILED (each write is seen whole: infra/emulator.py makes moto's so)."""
    if item and item.get("status") in ("READY", "FAILED"):
        return item
    return None


class Stack:
    """A running local stack as its ready file describes it."""

    def __init__(self, ready: dict[str, Any]) -> None:
        self.ready = ready
        self.deployment = Deployment.from_json(ready)  # every endpoint a test reaches
        self.endpoint = ready["endpoint"]  # moto's (the local stack's own)
        self.api = ready["api"]  # the local API, which serves every service's routes and the local documents
        self.web: str | None = self.deployment.site  # the website, when the stack serves it
        self.websocket: str | None = self.deployment.websocket  # the WebSocket API, when a service declares one
        self.topology = load(ready["stage"], params=ready["params"])
        self.session = local_session(ready["region"])
        issuer = ready["issuer"]
        self.forge = Forge.from_pem(
            Path(issuer["key_file"]), kid=issuer["kid"], issuer=issuer["issuer"], audience=issuer["audience"]
        )
        self.s3 = self.client("s3")
        self.sqs = self.client("sqs")
        self.table = self.session.resource("dynamodb", endpoint_url=self.endpoint).Table(
            self.name("metadata", "CatalogTable")
        )

    def url(self, path: str) -> str:
        """The URL of an API route (`/videos/abc`), on the API of the service that serves it."""
        return self.deployment.url(path)

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)

    def name(self, service: str, logical_id: str) -> str:
        return self.topology.physical(service, logical_id)

    def queue_url(self, name: str) -> str:
        return self.sqs.get_queue_url(QueueName=name)["QueueUrl"]

    def tail(self, function: Invocable, lines: int = 20) -> str:
        """The last lines of a function's log file."""
        text = Path(self.ready["logs"][function.key]).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def queue_depths(self) -> dict[str, int]:
        depths = {}
        for queue in self.topology.queues:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url(queue.name),
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depths[queue.name] = sum(int(v) for v in attributes.values())
        return depths

    def dead_letter_queues(self) -> list[str]:
        targets = {q.dead_letter_arn for q in self.topology.queues if q.dead_letter_arn}
        return [q.name for q in self.topology.queues if queue_arn(q.name) in targets]

    def upload(self, path: Path, filename: str, owner: str = "alice") -> str:
        video_id = uuid.uuid4().hex
        self.s3.upload_file(str(path), self.name("upload", "UploadsBucket"), f"uploads/{owner}/{video_id}/{filename}")
        return video_id

    def item(self, video_id: str) -> dict[str, Any] | None:
        return self.table.get_item(Key={"video_id": video_id}, ConsistentRead=True).get("Item")

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 90) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if result := check():
                return result
            time.sleep(0.2)
        logs = "\n".join(f"--- {f.key}\n{self.tail(f, 15)}" for f in self.topology.functions)
        raise AssertionError(f"timed out waiting for {what}; queues: {self.queue_depths()}\n{logs}")

    def final_item(self, video_id: str) -> dict[str, Any]:
        return self.wait_for(f"video {video_id} READY or FAILED", lambda: final(self.item(video_id)))

    def tap(self, topic_arn: str, *, event_types: list[str] | None = None) -> str:
        """A queue that gets every message published to a topic (raw delivery), or those of `event_types`."""
        url = self.sqs.create_queue(QueueName=f"tap-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.client("sns").subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"}
            | ({"FilterPolicy": json.dumps({"event_type": event_types})} if event_types else {}),
        )
        return url

    def messages(self, queue_url: str) -> list[dict[str, Any]]:
        bodies = []
        while batch := self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def idle(self, timeout: float = 60) -> None:
        """Wait until every function queue is empty (messages handled and deleted)."""
        dlqs = set(self.dead_letter_queues())
        self.wait_for(
            "all queues drained",
            lambda: all(n == 0 for q, n in self.queue_depths().items() if q not in dlqs),
            timeout,
        )

    def take_dead_letters(self, dlq: str, about: str) -> list[str]:
        """Delete from a DLQ (by name) the messages whose body contains `about`, and return them: a test that
        dead-letters on purpose cleans up after itself, so that the others can assert that every DLQ is empty."""
        url, taken = self.queue_url(dlq), []
        for _ in range(5):  # a few receives: SQS answers from a sample of its hosts
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5)
            for message in messages.get("Messages", []):
                if about in message["Body"]:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    taken.append(message["Body"])
                else:  # someone else's: visible again at once
                    self.sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
        return taken

    def dlq_bodies(self) -> dict[str, list[str]]:
        found = {}
        for name in self.dead_letter_queues():
            url = self.queue_url(name)
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            found[name] = [m["Body"] for m in messages.get("Messages", [])]
        return found


@contextmanager
def local_stack(
    directory: Path,
    params: dict[str, str] | None = None,
    concurrency: dict[str, int] | None = None,
    *,
    site: bool = False,
) -> Iterator[Stack]:
    """`python -m devstack up` on free ports, until the block ends (with the website if `site`)."""
    ready_file, output = directory / "ready.json", directory / "stack.out"
    command = [sys.executable, "-m", "devstack", "up", "--port", "0", "--api-port", "0", "--ws-port", "0"]
    command += ["--web-port", "0"] if site else ["--no-site"]
    command += ["--log-dir", str(directory / "logs"), "--ready-file", str(ready_file)]
    for name, value in (params or {}).items():
        command += ["--param", f"{name}={value}"]
    for key, workers in (concurrency or {}).items():
        command += ["--concurrency", f"{key}={workers}"]
    with output.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the functions' processes can be stopped with it
        )
    try:
        yield Stack(_wait_until_ready(process, ready_file, output))
    finally:
        _stop(process)


def _wait_until_ready(process: subprocess.Popen[bytes], ready_file: Path, output: Path) -> dict[str, Any]:
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready_file.exists():
        if process.poll() is not None:
            raise RuntimeError(f"the local stack exited ({process.returncode}) before it was up:\n{_tail(output)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the local stack was not up after {READY_TIMEOUT}s:\n{_tail(output)}")
        time.sleep(0.1)
    return json.loads(ready_file.read_text())


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the stack stops its functions and moto), then a kill of whatever is left of its group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(output: Path, lines: int = 40) -> str:
    return "\n".join(output.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def stack(shared_stack: Stack) -> Stack:
    """The session's local stack (tests/conftest.py), shared by every e2e module that does not start its own."""
    return shared_stack
