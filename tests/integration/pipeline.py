"""The queue handlers of the pipeline against moto, as Lambda runs them, and ways to feed them an upload.

Fixtures live in the test modules (one line each: `yield from transcode_handler(...)`), so the
modules name what they use and ruff sees no imported fixture shadowed by a test argument.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest

import mediatools
from contracts import RenditionFile, open_s3_event
from contracts.media import MediaSummary, summarise
from infra.event_source import EventSourceMapping
from tests.integration.conftest import Aws, Context, sqs_event, use_function_env
from tests.unit.shapes import s3_encoded

Handler = Callable[[dict, object], dict]
ALL_DONE = {"batchItemFailures": []}


class Transcoder:
    """The transcode service in this process: its starter and its media tasks function, each behind its event
    source mapping, with the workflow executing on the moto server (`moto_stack(server=True)`).

    Called like the starter's handler (an SQS event of upload notifications), it returns the starter's batch
    response once every execution it started has ended.
    """

    def __init__(self, aws: Aws) -> None:
        from transcode.handlers import tasks, uploads

        self.aws, self.start = aws, uploads.handler
        self.tasks = EventSourceMapping(aws.client("sqs"), aws.function("transcode-mediaTasks"), tasks.handler)
        self.sfn = aws.client("stepfunctions")
        [machine] = aws.topology.state_machines
        self.machine = machine.arn

    def __call__(self, event: dict[str, Any], context: object) -> dict[str, Any]:
        result: dict[str, Any] = self.start(event, context)
        self.settle()
        return result

    def settle(self, timeout: float = 180) -> None:
        """Do the workflow's tasks until no execution runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.tasks.poll(wait_seconds=0):
                continue
            if not self.sfn.list_executions(stateMachineArn=self.machine, statusFilter="RUNNING")["executions"]:
                return
            self.tasks.poll(wait_seconds=1)  # between tasks: a long poll, answered as soon as the next one comes
        raise AssertionError(f"the transcode workflow was still running after {timeout:.0f}s")

    def executions(self, video_id: str) -> list[dict[str, Any]]:
        listed = self.sfn.list_executions(stateMachineArn=self.machine)["executions"]
        return [e for e in listed if e["name"].startswith(f"{video_id}-")]


def transcode_handler(aws: Aws, monkeypatch: pytest.MonkeyPatch, work_dir: Path) -> Iterator[Transcoder]:
    """The transcode service (starter and tasks), configured from their serverless.yml environments."""
    functions = (aws.function("transcode-startTranscode"), aws.function("transcode-mediaTasks"))
    use_function_env(monkeypatch, *functions, WORK_DIR=str(work_dir))
    yield Transcoder(aws)


class DownloadingProber:
    """Reads the rendition through boto3 (mock_aws cannot serve ffprobe's HTTP reads), counting the probes."""

    def __init__(self, s3, folder: Path) -> None:
        self.s3, self.folder, self.calls = s3, folder, 0

    def probe(self, rendition: RenditionFile) -> MediaSummary:
        self.calls += 1
        local = self.folder / f"{uuid.uuid4().hex}.mp4"
        self.s3.download_file(rendition.bucket, rendition.key, str(local))
        return summarise(mediatools.probe(mediatools.local_input(local)))


@dataclass
class Catalog:
    """The metadata service's queue handlers, and a look at its table."""

    aws: Aws
    probes: DownloadingProber
    on_upload: Handler
    on_video_event: Handler

    def item(self, video_id: str) -> dict | None:
        from catalog.adapters.dynamo import from_dynamo

        table = boto3.resource("dynamodb", region_name="us-east-1").Table(self.aws.name("metadata", "CatalogTable"))
        found = table.get_item(Key={"video_id": video_id})
        return from_dynamo(found["Item"]) if "Item" in found else None

    def count(self) -> int:
        table = self.aws.name("metadata", "CatalogTable")
        return self.aws.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]


def catalog_handlers(aws: Aws, monkeypatch: pytest.MonkeyPatch, prober: DownloadingProber) -> Iterator[Catalog]:
    """The catalog's handlers, configured from their serverless.yml environment, reading renditions with `prober`."""
    from catalog import deps
    from catalog.handlers import uploads, video_events

    use_function_env(monkeypatch, aws.function("metadata-recordUpload"), aws.function("metadata-recordVideoEvent"))
    deps.record_video_event().prober = prober
    yield Catalog(aws, prober, uploads.handler, video_events.handler)


def upload(aws: Aws, path: Path, filename: str, owner: str = "alice") -> tuple[str, str]:
    """Put a file where the upload form would, and return (video_id, the S3 event as SQS delivers it)."""
    video_id = uuid.uuid4().hex
    key = f"uploads/{owner}/{video_id}/{filename}"
    aws.client("s3").upload_file(str(path), aws.name("upload", "UploadsBucket"), key)
    return video_id, notification(aws, key)


def notification(aws: Aws, key: str) -> str:
    """The S3 event the uploads bucket sent for `key`, taken off the transcode queue (which is emptied)."""
    sqs, found = aws.client("sqs"), None
    url = aws.queue_url("video24-transcode-test-transcode")
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            event = open_s3_event(message["Body"])
            if event is not None and event.records[0].key == key:
                found = message["Body"]
    if found is None:
        raise AssertionError(f"the upload notification for {key!r} did not reach the transcode queue")
    return found


def events_published(aws: Aws, tap: str) -> list[dict]:
    return aws.drain(tap)


def s3_upload_event(
    aws: Aws,
    key: str,
    etag: str = "abc123",
    *,
    size: int | None = 1000,
    bucket: str | None = None,
    event_name: str = "ObjectCreated:Post",
    sequencer: str | None = None,
) -> str:
    """The S3 notification as AWS sends it through SNS raw delivery (the key form-encoded, see `s3_encoded`)."""
    obj: dict[str, Any] = {"key": s3_encoded(key), "eTag": etag}
    if size is not None:
        obj["size"] = size
    if sequencer is not None:
        obj["sequencer"] = sequencer
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-26T10:00:00.000Z",
        "eventName": event_name,
        "s3": {"bucket": {"name": bucket or aws.name("upload", "UploadsBucket")}, "object": obj},
    }
    return json.dumps({"Records": [record]})


def failure_logged(caplog: pytest.LogCaptureFixture, video_id: str) -> dict[str, Any]:
    """The transcode's log line of the task that reported the video's failure (`task: fail`), as Powertools writes
    it: where the tool's own words are (`detail`), since people read the code's sentence. (Formatted after the
    run: its correlation id is the one the handler set for the last task, the failure's.)"""
    from transcode.observability import logger

    said = [(r.getMessage(), getattr(r, "task", None), getattr(r, "video_id", None), r) for r in caplog.records]
    [record] = [r for message, task, video, r in said if (message, task, video) == ("task done", "fail", video_id)]
    line: dict[str, Any] = json.loads(logger.registered_formatter.format(record))
    return line


class Run(NamedTuple):
    video_id: str
    result: dict[str, Any]  # the transcode starter's batch response
    events: list[dict[str, Any]]  # the outcomes it published on video-events (VideoTranscoded or ...Failed)
    item: dict[str, Any] | None  # the catalog item once the upload event and every published event are in
    progress: list[dict[str, Any]]  # the VideoTranscodeProgress events it published


@dataclass
class Pipeline:
    """An upload through the real handlers: the S3 event to the catalog and the transcoder, then what the
    transcoder published to the catalog, as the SNS subscriptions would deliver them."""

    aws: Aws
    transcode: Transcoder
    catalog: Catalog

    def upload(self, path: Path, filename: str, *, owner: str = "alice", copies: int = 1) -> Run:
        video_id, body = upload(self.aws, path, filename, owner)
        return self.deliver(body, video_id, copies=copies)

    def deliver(self, body: str, video_id: str, *, copies: int = 1) -> Run:
        """Deliver one S3 event body (`copies` times in one batch); every catalog message must succeed."""
        tap = self.aws.tap(self.aws.name("transcode", "VideoEventsTopic"))
        assert self.catalog.on_upload(sqs_event(*[body] * copies), Context()) == ALL_DONE
        result = self.transcode(sqs_event(*[body] * copies), Context())
        events = events_published(self.aws, tap)
        for event in events:
            bodies = [json.dumps(event)] * copies
            assert self.catalog.on_video_event(sqs_event(*bodies), Context()) == ALL_DONE
        outcomes = [e for e in events if e["event_type"] != "VideoTranscodeProgress"]
        progress = [e for e in events if e["event_type"] == "VideoTranscodeProgress"]
        return Run(video_id, result, outcomes, self.catalog.item(video_id), progress)
