"""The local stack, once per test module, run as a user runs it: `python -m devstack up` in its own process.

The fixture starts it on free ports with its own log folder, waits for the ready file it
writes once everything is up, and stops it (SIGTERM, then a kill of its process group)
at the end. The tests reach it only from outside: the ready file, the services'
topology (infra), boto3 with the local stack's credentials, HTTP, and tokens from the
stack's issuer key (tests/tokens.py).
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
from tests.tokens import Forge

READY_TIMEOUT = 120  # seconds: moto, provisioning and one process per function on a busy 2-core machine
STOP_TIMEOUT = 30


def final(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """The item once READY or FAILED and completely written.

    moto applies an UpdateItem attribute by attribute, so a read can see a half-written
    item (DynamoDB never shows one); the catalog writes `status_rank` last.
    """
    if item and item.get("status") in ("READY", "FAILED") and "status_rank" in item:
        return item
    return None


class Stack:
    """A running local stack as its ready file describes it."""

    def __init__(self, ready: dict[str, Any]) -> None:
        self.ready = ready
        self.endpoint, self.api = ready["endpoint"], ready["api"]
        self.web: str | None = ready.get("web")  # the website, when the stack serves it
        self.websocket: str | None = ready.get("websocket")  # the WebSocket API, when a service declares one
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


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with local_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running
