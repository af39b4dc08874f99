"""The replay operations, on any SQS/S3 endpoint (the local stack or AWS): clients are passed in."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote_plus

from botocore.exceptions import ClientError

from contracts import describe
from infra import Topology
from lambdakit.failures import FAILURE_RECORD


class ReplayError(Exception):
    """A clear, user-facing refusal (unknown queue, nothing deployed, ...)."""


@dataclass(frozen=True)
class QueuePair:
    named: str  # the queue the user meant
    source: str
    dead_letter: str | None


def resolve_queue(topology: Topology, name: str) -> QueuePair:
    """A queue by its full name or a unique suffix (`transcode-dlq`), with its DLQ or its source queue."""
    names = [q.name for q in topology.queues]
    matches = [n for n in names if n == name] or [n for n in names if n.endswith(name)]
    if len(matches) != 1:
        known = ", ".join(sorted(n.removeprefix("video24-") for n in names))
        raise ReplayError(f"no single queue matches {name!r} (stage {topology.stage}); known: {known}")
    queue = topology.queue(matches[0])
    if queue.dead_letter_arn:
        return QueuePair(queue.name, queue.name, queue.dead_letter_arn.rsplit(":", 1)[-1])
    sources = [q.name for q in topology.queues if q.dead_letter_arn and q.dead_letter_arn.endswith(f":{queue.name}")]
    if not sources:
        return QueuePair(queue.name, queue.name, None)
    return QueuePair(queue.name, sources[0], queue.name)


def queue_url(sqs: Any, name: str) -> str:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        raise ReplayError(
            f"queue {name} does not exist: is this stage deployed (and the endpoint/region right)?"
        ) from None


def consumer_log_groups(topology: Topology, queue: str) -> list[str]:
    """The log groups of the functions that consume a queue (where their failure records are)."""
    return [f.log_group for f in topology.functions if f.queue_arn.rsplit(":", 1)[-1] == queue]


def _json_in(line: str) -> dict[str, Any] | None:
    """The JSON object in a log line (Lambda may prefix a line with a timestamp and request id)."""
    start = line.find("{")
    try:
        found = json.loads(line[start:]) if start >= 0 else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def failure_records(logs: Any, log_groups: list[str], *, since_ms: int) -> dict[str, dict[str, Any]]:
    """The latest failure record per SQS message id in these log groups since a time."""
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    for group in log_groups:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, startTime=since_ms, filterPattern=f'"{FAILURE_RECORD}"'
        )
        try:
            for page in pages:
                for event in page.get("events", []):
                    line = _json_in(event.get("message", ""))
                    if line is None or line.get("message") != FAILURE_RECORD:
                        continue
                    failure = line.get("failure")
                    if not isinstance(failure, dict) or "message_id" not in failure:
                        continue
                    at = int(event.get("timestamp", 0))
                    record = failure | {"at": _millis(str(at))}
                    if line.get("correlation_id"):
                        record.setdefault("correlation_id", line["correlation_id"])
                    if failure["message_id"] not in latest or at >= latest[failure["message_id"]][0]:
                        latest[failure["message_id"]] = (at, record)
        except logs.exceptions.ResourceNotFoundException:
            continue  # the function never logged anything (or is not deployed)
    return {message_id: record for message_id, (_, record) in latest.items()}


def _millis(value: str | None) -> str | None:
    return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat() if value else None


def peek(sqs: Any, queue: str, *, limit: int = 100) -> Iterator[dict[str, Any]]:
    """The messages in a queue, without consuming them: each one is made visible again at once."""
    url, idle_rounds = queue_url(sqs, queue), 0
    seen: set[str] = set()
    while len(seen) < limit and idle_rounds < 3:  # SQS samples: a few rounds without news means we saw them all
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if batch:
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(batch)
                ],
            )
        fresh = [m for m in batch if m["MessageId"] not in seen]
        idle_rounds = 0 if fresh else idle_rounds + 1
        for message in fresh[: limit - len(seen)]:
            seen.add(message["MessageId"])
            attributes = message.get("Attributes", {})
            yield {
                "message_id": message["MessageId"],
                "sent_ms": int(attributes.get("SentTimestamp", 0)),
                "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
                "sent_at": _millis(attributes.get("SentTimestamp")),
                "first_received_at": _millis(attributes.get("ApproximateFirstReceiveTimestamp")),
            } | describe(message["Body"])


def count(sqs: Any, queue: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url(sqs, queue), AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def redrive(
    sqs: Any,
    dead_letter: str,
    source: str,
    *,
    rate: float = 50.0,
    progress: Callable[[int], None] = lambda n: None,
    mover: Any = None,
    notice: Callable[[str], None] = lambda text: None,
    wait_seconds: int = 2,
    poll_seconds: float = 1.0,
) -> int:
    """Move every message from the DLQ back to its source queue; returns how many moved.

    With `mover` (an SQS client that does not retry), SQS's own StartMessageMoveTask is
    tried first; where the endpoint does not offer it, messages are received, sent and
    deleted from the DLQ only after their send succeeded.
    """
    dlq_url, source_url = queue_url(sqs, dead_letter), queue_url(sqs, source)
    if mover is not None:
        moved = _move_task(
            sqs, mover, dlq_url, source_url, rate=rate, progress=progress, notice=notice, poll_seconds=poll_seconds
        )
        if moved is not None:
            return moved
    moved, pause = 0, 1.0 / rate if rate > 0 else 0.0
    receive = {"QueueUrl": dlq_url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 30, "WaitTimeSeconds": wait_seconds}
    while batch := sqs.receive_message(**receive, MessageAttributeNames=["All"]).get("Messages", []):
        for message in batch:
            attributes = message.get("MessageAttributes") or {}
            sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"], MessageAttributes=attributes)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
            progress(moved)
            time.sleep(pause)
    return moved


_MOVE_TASK_OVER = {"COMPLETED", "CANCELLED", "FAILED"}


def _move_task(
    sqs: Any,
    mover: Any,
    dlq_url: str,
    source_url: str,
    *,
    rate: float,
    progress: Callable[[int], None],
    notice: Callable[[str], None],
    poll_seconds: float,
) -> int | None:
    """Redrive with StartMessageMoveTask and follow it to the end; None when the endpoint cannot."""
    dlq_arn = queue_arn(sqs, dlq_url)
    request: dict[str, str | int] = {"SourceArn": dlq_arn, "DestinationArn": queue_arn(sqs, source_url)}
    if rate > 0:
        request["MaxNumberOfMessagesPerSecond"] = max(1, min(500, int(rate)))
    try:
        mover.start_message_move_task(**request)
    except ClientError as exc:
        notice(f"StartMessageMoveTask unavailable here ({exc.response.get('Error', {}).get('Code')}); "
               "moving messages one by one")  # fmt: skip
        return None
    while True:
        [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"]
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        progress(moved)
        if task["Status"] in _MOVE_TASK_OVER:
            if task["Status"] != "COMPLETED":
                reason = task.get("FailureReason", "no reason given")
                raise ReplayError(f"the move task {task['Status'].lower()}: {reason}")
            return moved
        time.sleep(poll_seconds)


def s3_event(bucket: str, obj: dict[str, Any], region: str) -> str:
    """The S3 ObjectCreated notification for an existing object, as S3 -> SNS (raw) -> SQS delivers it."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": obj["LastModified"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "video24-replay"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "video24-replay",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(obj["Key"], safe="/"), "size": obj["Size"], "eTag": obj["ETag"].strip('"')},
        },
    }
    return json.dumps({"Records": [record]})


def objects(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def reemit(sqs: Any, s3: Any, bucket: str, prefix: str, queue: str, region: str, *, send: bool) -> int:
    url = queue_url(sqs, queue) if send else None
    emitted = 0
    for obj in objects(s3, bucket, prefix):
        if send:
            sqs.send_message(QueueUrl=url, MessageBody=s3_event(bucket, obj, region))
        emitted += 1
    return emitted


class Rerun(NamedTuple):
    execution: str  # the failed execution
    how: str  # "redrive" or "new execution"
    started: str | None  # the new execution's name, when one was started


def _executions_of(sfn: Any, machine_arn: str, video_id: str) -> list[dict[str, Any]]:
    found = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn):
        found += [e for e in page["executions"] if e["name"].startswith(f"{video_id}-")]
    return found


def rerun(sfn: Any, machine_arn: str, video_id: str, *, act: bool) -> Rerun:
    """Run a failed video's transcode workflow again: Step Functions' redrive where the endpoint offers it
    (it reruns only the failed states), else a new execution with the same input (whose chunk tasks skip
    the chunks already encoded). Either way the video ends once: the catalog lets READY replace FAILED."""
    executions = _executions_of(sfn, machine_arn, video_id)
    if not executions:
        raise ReplayError(f"no transcode workflow ran for video {video_id}")
    latest = max(executions, key=lambda e: e["startDate"])
    name, status = latest["name"], latest["status"]
    if status in ("RUNNING", "SUCCEEDED"):
        raise ReplayError(f"{name} is {status}: there is nothing to run again")
    if not act:
        return Rerun(name, "would redrive, or start a new execution", None)
    try:
        sfn.redrive_execution(executionArn=latest["executionArn"])
        return Rerun(name, "redrive", None)
    except ClientError:  # not offered here (moto), or not redrivable any more (AWS keeps that 14 days)
        pass
    given = sfn.describe_execution(executionArn=latest["executionArn"])["input"]
    base = re.sub(r"-r\d+$", "", name)  # a rerun of a rerun counts on from the first one's name
    taken = {e["name"] for e in executions}
    attempt = next(n for n in range(1, 1000) if f"{base[:75]}-r{n}" not in taken)
    new_name = f"{base[:75]}-r{attempt}"
    sfn.start_execution(stateMachineArn=machine_arn, name=new_name, input=given)
    return Rerun(name, "new execution", new_name)


def state_machine_arn(sfn: Any, name: str) -> str:
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                return str(machine["stateMachineArn"])
    raise ReplayError(f"no state machine {name} (is the transcode service deployed for this stage?)")
