"""The local stack, once per test module: moto server, the services' resources, one process per function."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import LocalStack


def final(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """The item once READY or FAILED and completely written.

    moto applies an UpdateItem attribute by attribute, so a read can see a half-written
    item (DynamoDB never shows one); the catalog writes `status_rank` last.
    """
    if item and item.get("status") in ("READY", "FAILED") and "status_rank" in item:
        return item
    return None


class Stack:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.s3 = stack.client("s3")
        self.sqs = stack.client("sqs")
        self.table = stack.resource("dynamodb").Table(stack.name("metadata", "CatalogTable"))

    def name(self, service: str, logical_id: str) -> str:
        return self.stack.name(service, logical_id)

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
        logs = "\n".join(f"--- {f.key}\n{self.stack.tail(f, 15)}" for f in self.stack.topology.functions)
        raise AssertionError(f"timed out waiting for {what}; queues: {self.stack.queue_depths()}\n{logs}")

    def final_item(self, video_id: str) -> dict[str, Any]:
        return self.wait_for(f"video {video_id} READY or FAILED", lambda: final(self.item(video_id)))

    def tap(self, topic_arn: str) -> str:
        """A queue that gets every message published to a topic (raw delivery)."""
        url = self.sqs.create_queue(QueueName=f"tap-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.stack.client("sns").subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
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
        dlqs = set(self.stack.dead_letter_queues())
        self.wait_for(
            "all queues drained",
            lambda: all(n == 0 for q, n in self.stack.queue_depths().items() if q not in dlqs),
            timeout,
        )

    def dlq_bodies(self) -> dict[str, list[str]]:
        found = {}
        for name in self.stack.dead_letter_queues():
            url = self.stack.queue_url(name)
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            found[name] = [m["Body"] for m in messages.get("Messages", [])]
        return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with LocalStack(log_dir=tmp_path_factory.mktemp("logs")) as local:
        yield Stack(local)
