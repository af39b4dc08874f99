"""Injected AWS faults, and every queue-fed function of the stack run in this process against moto.

`Faults` makes chosen SDK calls fail the way a handler sees a throttle or a 5xx after
the SDK's own retries: as a ClientError from the call. `Lambdas` runs each function
behind Lambda's event source mapping, as infra.event_source models it (receive, invoke,
delete what succeeded, leave the rest), with no retry delay, so SQS's own receive counts
and redrive policy decide when a message that keeps failing moves to its DLQ.

The transcode workflow runs on the moto server (`moto_stack(server=True)`) in this process's threads: its
interpreter's own SDK calls (SQS SendMessage of the task messages) pass through `Faults` too, so a rule
names the calls it is about by their parameters.
"""

from __future__ import annotations

import json
import threading
import time
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
from infra import ACCOUNT_ID, REGION
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
    lock: threading.Lock = field(default_factory=threading.Lock)  # heartbeats and moto's interpreter call too

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
        with self.lock:
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
    """The stack's queue consumers, each behind its event source mapping, run until every queue is quiet and no
    execution of the transcode workflow is running (between its tasks, the state machine runs in moto's threads).
    """

    WORKFLOW_TASKS = "transcode-mediaTasks"

    def __init__(self, aws: Aws, monkeypatch: pytest.MonkeyPatch, work_dir: Path, prober: Any) -> None:
        from catalog import deps as catalog_deps
        from transcode.logic import tasks

        monkeypatch.setattr(tasks, "IN_PLACE_WAITS", (0.0, 0.0))  # tried again at once, as the workflow's retries

        # every function of the stack, the API's too (the tests call some routes), as if they shared this process
        use_function_env(monkeypatch, *aws.topology.invocables.values(), WORK_DIR=str(work_dir))
        catalog_deps.record_video_event().prober = prober
        sqs = aws.client("sqs")
        self.mappings = {
            function.key: EventSourceMapping(
                sqs,
                function,
                function.load_handler(),
                retry_delay=0,
                queue_url=aws.queue_url(function.queue_arn.rsplit(":", 1)[-1]),
            )
            for function in aws.topology.functions
        }
        self.sfn = aws.client("stepfunctions")
        [machine] = aws.topology.state_machines
        self.machine = machine.arn
        self.outcomes: list[tuple[str, dict[str, int]]] = []

    def running(self) -> list[dict[str, Any]]:
        return self.sfn.list_executions(stateMachineArn=self.machine, statusFilter="RUNNING")["executions"]

    def run(self, max_polls: int = 400, *, only: set[str] | None = None, timeout: float = 180) -> None:
        """Poll every consumer (or `only` these function keys) until their queues give nothing more; while the
        workflow's tasks are among them, also until no execution runs."""
        with_workflow = only is None or self.WORKFLOW_TASKS in only
        deadline, polls = time.monotonic() + timeout, 0
        while time.monotonic() < deadline and polls < max_polls:
            busy = False
            for key, mapping in self.mappings.items():
                if (only is not None and key not in only) or not queued(mapping.queue_url):
                    continue
                if outcome := mapping.poll(wait_seconds=0):
                    self.outcomes.append((key, outcome))
                    busy = True
            polls += busy
            if busy:
                continue
            if not (with_workflow and self.running()):
                return
            # the state machine is between tasks: its next one is a message on the tasks queue (a long poll, which
            # moto answers as soon as it comes), else the execution ends and the next round sees it
            if outcome := self.mappings[self.WORKFLOW_TASKS].poll(wait_seconds=1):
                self.outcomes.append((self.WORKFLOW_TASKS, outcome))
        raise AssertionError(f"the queues and the workflow did not settle: {self.outcomes[-5:]}, {self.running()}")

    def failures(self, key: str) -> int:
        return sum(outcome["failed"] for name, outcome in self.outcomes if name == key)

    def executions(self, video_id: str) -> list[dict[str, Any]]:
        """The video's executions of the transcode workflow (any status)."""
        listed = self.sfn.list_executions(stateMachineArn=self.machine)["executions"]
        return [e for e in listed if e["name"].startswith(f"{video_id}-")]


def queued(queue_url: str) -> bool:
    """Whether a receive on the queue would get a message (or move one to its DLQ), asked of moto itself: it runs in
    this process. Most of a pipeline's requests were receives that got nothing, from every consumer after each step."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[ACCOUNT_ID][REGION].queues.get(queue_url.rsplit("/", 1)[-1])
    return queue is None or bool(queue.messages)


def empty_queues(aws: Aws) -> None:
    """Empty every queue of the stack and its DLQ: what one test left cannot fail the next on a shared stack."""
    sqs = aws.client("sqs")
    names = {q.name for q in aws.topology.queues} | {
        q.dead_letter_arn.rsplit(":", 1)[-1] for q in aws.topology.queues if q.dead_letter_arn
    }
    for name in sorted(names):  # received and deleted: SQS allows one PurgeQueue a minute
        url = aws.queue_url(name)
        if not queued(url):
            continue
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)


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


def assert_not_finished(aws: Aws, keys: list[str]) -> None:
    """No finished stream among the video's `keys`: no final.json, and a playlist only of the growing stream (an
    EVENT playlist, without its end: logic/growing.py), which the playback route refuses once the video FAILED."""
    assert not [k for k in keys if k.endswith("/final.json")], keys
    s3, bucket = aws.client("s3"), aws.name("transcode", "TranscodedBucket")
    for key in (k for k in keys if k.endswith("/index.m3u8")):
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        assert "#EXT-X-PLAYLIST-TYPE:EVENT" in text and "#EXT-X-ENDLIST" not in text, (key, text)


class TrackedUpload:
    """A tiny clip uploaded where the form puts it; taps see what the services publish.

    `rung`, `chunks` and `thumbnails`: the one rendition the clip gets, how many chunks the workflow cuts it into
    and how many seek-bar thumbnails it takes (one per 10 s).
    """

    def __init__(self, aws: Aws, clip: Path, *, rung: str = "180p", chunks: int = 1, thumbnails: int = 1) -> None:
        self.aws, self.video_id, self.rung = aws, uuid.uuid4().hex, rung
        self.chunks, self.thumbnails = chunks, thumbnails
        self.key = f"uploads/alice/{self.video_id}/clip.mp4"
        self.transcoded_tap = aws.tap(aws.name("transcode", "VideoEventsTopic"))
        self.catalog_tap = aws.tap(aws.name("metadata", "CatalogEventsTopic"))
        aws.client("s3").upload_file(str(clip), aws.name("upload", "UploadsBucket"), self.key)
        self.published: list[dict[str, Any]] = []

    def collect(self) -> None:
        self.published += self.aws.drain(self.transcoded_tap) + self.aws.drain(self.catalog_tap)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.published if e["event_type"] == event_type]

    def event_ids(self, event_type: str) -> list[str]:
        return [e["event_id"] for e in self.events(event_type)]

    def item(self) -> dict[str, Any] | None:
        table = boto3.resource("dynamodb", region_name="us-east-1").Table(self.aws.name("metadata", "CatalogTable"))
        found = table.get_item(Key={"video_id": self.video_id})
        return from_dynamo(found["Item"]) if "Item" in found else None

    def keys(self) -> list[str]:
        return self.aws.keys(self.aws.name("transcode", "TranscodedBucket"), f"videos/{self.video_id}/")

    def expected_keys(self, tag: str) -> list[str]:
        """What a finished workflow leaves for the video (logic/workflow.py): the MP4 download, poster and manifest;
        under stream/{tag}/ the master, audio and rung playlists and the finished ones kept (final.json), each
        chunk's file and record (one rung: one round, r0), the audio's piece and record per chunk and its end
        (done.json), and the seek-bar thumbnails, their sprite and WebVTT track."""
        stream = f"stream/{tag}/"
        names = [f"{self.rung}.mp4", "manifest.json", "poster.jpg"]
        names += [f"{stream}{name}" for name in ("master.m3u8", "final.json", f"{self.rung}/index.m3u8")]
        names += [f"{stream}audio/{name}" for name in ("index.m3u8", "done.json")]
        for index in range(self.chunks):
            names += [f"{stream}{self.rung}/c{index:05d}.mp4", f"{stream}pieces/r0/c{index:05d}.json"]
            names += [f"{stream}audio/a{index:05d}.mp4", f"{stream}audio/pieces/a{index:05d}.json"]
        names += [f"{stream}thumbs/{name}" for name in ("sprite-000.jpg", "thumbnails.vtt")]
        names += [f"{stream}thumbs/t{number:05d}.jpg" for number in range(self.thumbnails)]
        return sorted(f"videos/{self.video_id}/{name}" for name in names)

    def assert_done_exactly_once(self, lambdas: Lambdas | None = None) -> None:
        """The end state of a run with no fault: READY, announced, its stream and download written, each event once
        in effect (a retry may publish an event again, but always as the same event: consumers dedupe on its id)."""
        self.collect()
        item = self.item()
        assert item is not None
        said = (item["status"], item["status_rank"], item.get("ready_published"))
        assert said == ("READY", Rank.READY, True), (said, item.get("failure"))
        assert item["uploaded_at"] and item["owner"] == "alice" and "failure" not in item
        for event_type in ("VideoTranscoded", "VideoReady"):
            assert len(set(self.event_ids(event_type))) == 1, event_type
        assert self.event_ids("VideoTranscodeFailed") == []
        assert item["ready_event_id"] == self.event_ids("VideoReady")[0]
        transcoded = self.events("VideoTranscoded")[0]
        assert transcoded["chunks"] == self.chunks
        tag = transcoded["stream"]["master"].split("/stream/", 1)[1].split("/", 1)[0]
        # (and the records the growing stream's writers read, kept as a cache: pieces/growing.json, when one got
        # as far as reading them)
        assert [key for key in self.keys() if not key.endswith("/pieces/growing.json")] == self.expected_keys(tag)
        # progress: each state of the encoding (chunks done, share, playable seconds) is one event, however often it
        # was sent (a resend repeats it as it was); the chunks of the one round, and never more done than all
        progress: dict[str, tuple[int, int, float | None, float | None]] = {}
        for e in self.events("VideoTranscodeProgress"):
            said = (e["chunks_done"], e["chunks_total"], e["encoded"], (e["playable"] or {}).get("seconds"))
            assert progress.setdefault(e["event_id"], said) == said, e
        assert len(progress) == len(set(progress.values())), progress
        assert all(total == self.chunks and done <= total for done, total, _, _ in progress.values()), progress
        # and the catalog announced it only ever further: in the order of the changes, the share encoded and the
        # seconds that play never went back (it keeps the highest of each, whatever order the events came in)
        changes = {e["sequence"]: e for e in self.events("VideoStatusChanged") if e["status"] == "PROCESSING"}
        told = [(changes[n]["progress"], changes[n]["playable_seconds"] or 0) for n in sorted(changes)]
        assert [p for p, _ in told] == sorted(p for p, _ in told) and [s for _, s in told] == sorted(s for _, s in told)
        if lambdas is not None:
            assert [(e["name"], e["status"]) for e in lambdas.executions(self.video_id)] == [
                (f"{self.video_id}-{tag}", "SUCCEEDED")
            ]
        assert set(dead_letter_depths(self.aws).values()) == {0}

    def assert_changes_announced_once(self, since: int = 0) -> None:
        """The catalog's announcements of a video that ended READY: one VideoStatusChanged per change (a retried
        publish repeats it as it was), the last one READY and marked announced in the item; and none published
        twice from `published[since]` on (from where the consumers ran with no fault)."""
        self.collect()
        changes: dict[str, tuple[int, str, float | None, float | None]] = {}
        for event in self.events("VideoStatusChanged"):
            change = (event["sequence"], event["status"], event["progress"], event["playable_seconds"])
            assert changes.setdefault(event["event_id"], change) == change, event
        assert len(set(changes.values())) == len(changes), changes
        last, item = max(changes.values()), self.item() or {}
        assert (last[1], item.get("announced_sequence")) == ("READY", last[0]), (last, item.get("announced_sequence"))
        later = [e["event_id"] for e in self.published[since:] if e["event_type"] == "VideoStatusChanged"]
        assert len(later) == len(set(later)), later

    def assert_failed_once(self, lambdas: Lambdas, chunk: int | None = None) -> dict[str, Any]:
        """The end state of a workflow that gave up: FAILED in the catalog, one VideoTranscodeFailed (naming the chunk),
        no finished stream (at most the growing one) and no download, a manifest only of the failure, the one
        execution FAILED, nothing in a DLQ; the failure event."""
        self.collect()
        item = self.item()
        assert item is not None and item["status"] == "FAILED"
        failed = self.events("VideoTranscodeFailed")
        assert len({e["event_id"] for e in failed}) == 1 and self.events("VideoTranscoded") == []
        assert self.events("VideoReady") == []
        event = failed[0]
        assert event["reason_code"] == "TRANSCODE_FAILED"
        if chunk is not None:
            assert event["chunk"] is not None and event["chunk"]["index"] == chunk
        keys = self.keys()
        assert not [k for k in keys if k.endswith(f"/{self.rung}.mp4")], keys
        assert_not_finished(self.aws, keys)
        # the manifest (what a duplicate start is checked against) records the failure, never a transcode
        manifest = f"videos/{self.video_id}/manifest.json"
        if manifest in keys:
            body = self.aws.client("s3").get_object(Bucket=self.aws.name("transcode", "TranscodedBucket"), Key=manifest)
            assert json.loads(body["Body"].read())["event"]["event_type"] == "VideoTranscodeFailed"
        assert [e["status"] for e in lambdas.executions(self.video_id)] == ["FAILED"]
        assert set(dead_letter_depths(self.aws).values()) == {0}
        return event
