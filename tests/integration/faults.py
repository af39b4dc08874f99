"""Injected AWS faults, and every queue-fed function of the stack run in this process against moto.

`Faults` makes chosen SDK calls fail the way a handler sees a throttle or a 5xx after
the SDK's own retries: as a ClientError from the call. `Lambdas` runs each function
behind Lambda's event source mapping, as infra.event_source models it (receive, invoke,
delete what succeeded, leave the rest), with no retry delay, so SQS's own receive counts
and redrive policy decide when a message that keeps failing moves to its DLQ.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError

from catalog.adapters.dynamo import from_dynamo
from catalog.logic.ports import Rank
from infra.event_source import EventSourceMapping
from tests.integration.conftest import Aws, use_function_env

# How each kind of fault reaches the caller once the SDK has given up retrying.
ERRORS = {
    "throttle": ({"s3": "SlowDown", "dynamodb": "ProvisionedThroughputExceededException"}, "ThrottlingException", 400),
    "5xx": ({"s3": "InternalError", "dynamodb": "InternalServerError"}, "InternalFailure", 500),
}


@dataclass
class Rule:
    service: str
    operation: str
    kind: str
    after: int  # matching calls let through before the first failure
    times: int | None  # failures to inject; None: until cleared
    where: Callable[[dict[str, Any]], bool]  # which calls (by their parameters) the rule is about
    seen: int = 0
    failed: int = 0


@dataclass
class Faults:
    rules: list[Rule] = field(default_factory=list)

    def fail(
        self,
        service: str,
        operation: str,
        *,
        kind: str = "throttle",
        after: int = 0,
        times: int | None = 1,
        where: Callable[[dict[str, Any]], bool] = lambda params: True,
    ) -> Rule:
        rule = Rule(service, operation, kind, after, times, where)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def check(self, service: str, operation: str, params: dict[str, Any]) -> None:
        for rule in self.rules:
            if (rule.service, rule.operation) != (service, operation) or not rule.where(params):
                continue
            rule.seen += 1
            if rule.seen > rule.after and (rule.times is None or rule.failed < rule.times):
                rule.failed += 1
                codes, default, status = ERRORS[rule.kind]
                error = {"Code": codes.get(service, default), "Message": f"injected {rule.kind}"}
                raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def install(monkeypatch: pytest.MonkeyPatch) -> Faults:
    """Route every SDK call of this process through a Faults (undone by the monkeypatch)."""
    injected = Faults()
    real_call = botocore.client.BaseClient._make_api_call

    def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        injected.check(client.meta.service_model.service_name, operation, params)
        return real_call(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
    return injected


class Lambdas:
    """The stack's queue consumers, each behind its event source mapping, run until every queue is quiet."""

    def __init__(self, aws: Aws, monkeypatch: pytest.MonkeyPatch, work_dir: Path, prober: Any) -> None:
        from catalog import deps as catalog_deps

        use_function_env(monkeypatch, *aws.topology.functions, WORK_DIR=str(work_dir))
        catalog_deps.record_video_event().prober = prober
        sqs = aws.client("sqs")
        self.mappings = {
            function.key: EventSourceMapping(sqs, function, function.load_handler(), retry_delay=0)
            for function in aws.topology.functions
        }
        self.outcomes: list[tuple[str, dict[str, int]]] = []

    def run(self, max_polls: int = 100, *, only: set[str] | None = None) -> None:
        """Poll every consumer (or `only` these function keys) until their queues give nothing more."""
        for _ in range(max_polls):
            busy = False
            for key, mapping in self.mappings.items():
                if only is not None and key not in only:
                    continue
                if outcome := mapping.poll(wait_seconds=0):
                    self.outcomes.append((key, outcome))
                    busy = True
            if not busy:
                return
        raise AssertionError(f"the queues did not settle in {max_polls} rounds: {self.outcomes[-5:]}")

    def failures(self, key: str) -> int:
        return sum(outcome["failed"] for name, outcome in self.outcomes if name == key)


def dead_letter_depths(aws: Aws) -> dict[str, int]:
    sqs, depths = aws.client("sqs"), {}
    for queue in aws.topology.queues:
        if queue.dead_letter_arn:
            name = queue.dead_letter_arn.rsplit(":", 1)[-1]
            attributes = sqs.get_queue_attributes(
                QueueUrl=aws.queue_url(name), AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            depths[name] = int(attributes["ApproximateNumberOfMessages"])
    return depths


class TrackedUpload:
    """A tiny clip uploaded where the form puts it; taps see what the services publish."""

    def __init__(self, aws: Aws, clip: Path) -> None:
        self.aws, self.video_id = aws, uuid.uuid4().hex
        self.key = f"uploads/alice/{self.video_id}/clip.mp4"
        self.transcoded_tap = aws.tap(aws.name("transcode", "VideoEventsTopic"))
        self.catalog_tap = aws.tap(aws.name("metadata", "CatalogEventsTopic"))
        aws.client("s3").upload_file(str(clip), aws.name("upload", "UploadsBucket"), self.key)
        self.published: list[dict[str, Any]] = []

    def collect(self) -> None:
        self.published += self.aws.drain(self.transcoded_tap) + self.aws.drain(self.catalog_tap)

    def event_ids(self, event_type: str) -> list[str]:
        return [e["event_id"] for e in self.published if e["event_type"] == event_type]

    def item(self) -> dict[str, Any] | None:
        table = boto3.resource("dynamodb", region_name="us-east-1").Table(self.aws.name("metadata", "CatalogTable"))
        found = table.get_item(Key={"video_id": self.video_id})
        return from_dynamo(found["Item"]) if "Item" in found else None

    def assert_done_exactly_once(self) -> None:
        """The end state of a run with no fault: READY, announced, renditions written, each event once in effect."""
        self.collect()
        item = self.item()
        assert item is not None and (item["status"], item["status_rank"], item["ready_published"]) == (
            "READY",
            Rank.READY,
            True,
        )
        assert item["uploaded_at"] and item["owner"] == "alice" and "failure" not in item
        prefix = f"videos/{self.video_id}/"
        keys = self.aws.keys(self.aws.name("transcode", "TranscodedBucket"), prefix)
        assert keys == [f"{prefix}{name}" for name in ("180p.mp4", "manifest.json", "poster.jpg")]
        # A retry may publish an event again, but always as the same event (same id): consumers dedupe on it
        for event_type in ("VideoTranscoded", "VideoReady"):
            assert len(set(self.event_ids(event_type))) == 1, event_type
        assert self.event_ids("VideoTranscodeFailed") == []
        assert item["ready_event_id"] == self.event_ids("VideoReady")[0]
        assert set(dead_letter_depths(self.aws).values()) == {0}
