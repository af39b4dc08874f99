"""S3 and SNS behind the small interfaces the logic asks for."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from contracts import Upload
from transcode.logic.ports import SourceMissing, SourceRef, SourceSuperseded

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
_SUPERSEDED = {"412", "PreconditionFailed"}


class S3Storage:
    def __init__(self, client: Any, *, url_seconds: int = 3600) -> None:
        self._s3, self._url_seconds = client, url_seconds

    def source_url(self, upload: Upload) -> SourceRef:
        """A signed GET of exactly this version: by version id, else pinned to its ETag with If-Match.

        The object is checked once here, so a missing or rewritten source is told apart by S3's
        answer rather than from ffmpeg's error text.
        """
        params = {"Bucket": upload.bucket, "Key": upload.key}
        pin: dict[str, str] = {}
        headers = None
        if upload.version_id:
            params["VersionId"] = upload.version_id
        elif upload.etag:
            pin["IfMatch"] = '"' + upload.etag.strip('"') + '"'
            headers = f"If-Match: {pin['IfMatch']}\r\n"
        try:
            head = self._s3.head_object(**params, **pin)
        except ClientError as exc:
            raise _source_error(exc, upload.bucket, upload.key) from None
        url = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=self._url_seconds)
        return SourceRef(url, headers, int(head["ContentLength"]))

    def upload(self, path: Path, bucket: str, key: str, content_type: str) -> None:
        self._s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)

    def put_text(self, bucket: str, key: str, text: str, content_type: str) -> None:
        self.put_bytes(bucket, key, text.encode(), content_type)

    def download(self, bucket: str, key: str, dest: Path) -> None:
        self._s3.download_file(bucket, key, str(dest))

    def size(self, bucket: str, key: str) -> int:
        return int(self._s3.head_object(Bucket=bucket, Key=key)["ContentLength"])

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        return list(self.list_etags(bucket, prefix))

    def list_etags(self, bucket: str, prefix: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found |= {obj["Key"]: obj["ETag"] for obj in page.get("Contents", [])}
        return found

    def read_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        document = json.loads(body)
        return document if isinstance(document, dict) else None

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        return delete_prefix(self._s3, bucket, prefix)

    def write_json(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        self.put_bytes(bucket, key, json.dumps(document).encode(), "application/json")


def _source_error(exc: ClientError, bucket: str, key: str) -> Exception:
    """S3's refusal of the source as the logic's own exception (the ClientError itself when it is neither)."""
    code = str(exc.response.get("Error", {}).get("Code"))
    if code in _SUPERSEDED:
        return SourceSuperseded(f"s3://{bucket}/{key} was written again since this event")
    if code in _MISSING:
        return SourceMissing(f"s3://{bucket}/{key} does not exist")
    unknown: Exception = exc
    return unknown


class StepFunctionsExecutions:
    """Executions of the transcode workflow, one per name."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._sfn, self._arn = client, state_machine_arn

    def start(self, name: str, document: dict[str, Any]) -> bool:
        try:
            self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(document, sort_keys=True))
        except self._sfn.exceptions.ExecutionAlreadyExists:
            return False
        return True


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object under a prefix; returns how many there were (0 when already gone)."""
    deleted = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


class DynamoTombstones:
    """The deleted-videos table: one item per deleted video, removed by DynamoDB's TTL on `expires_at`."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def mark(self, video_id: str, *, deleted_at: datetime, expires_at: datetime) -> None:
        self._table.put_item(
            Item={"video_id": video_id, "deleted_at": deleted_at.isoformat(), "expires_at": int(expires_at.timestamp())}
        )

    def marked(self, video_id: str) -> bool:
        return "Item" in self._table.get_item(Key={"video_id": video_id}, ConsistentRead=True)


class TaskCallbacks:
    """The callbacks of a `waitForTaskToken` task: heartbeats while it runs, then its result."""

    GONE = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")

    def __init__(self, client: Any, *, settle_seconds: float = 1.0) -> None:
        self._sfn, self._settle = client, settle_seconds

    def alive(self, token: str) -> bool:
        """False when the task is over already (timed out and retried, or its execution ended): a stale message.

        InvalidToken is asked again for a moment: moto's interpreter (the local stack) arms a task's heartbeat only
        after sending its message, so a quick worker can be refused a token that is very much alive.
        """
        deadline = time.monotonic() + self._settle
        while True:
            try:
                self._sfn.send_task_heartbeat(taskToken=token)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code not in self.GONE:
                    raise
                if code != "InvalidToken" or time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)
                continue
            return True

    @contextmanager
    def heartbeats(self, token: str, every: float) -> Iterator[None]:
        """Send a heartbeat every `every` seconds until the block ends (so the state's HeartbeatSeconds holds)."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(every):
                with suppress(ClientError):  # a missed beat is caught by the next one, or by the state's timeout
                    self._sfn.send_task_heartbeat(taskToken=token)

        thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self._sfn.send_task_success(taskToken=token, output=json.dumps(output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self._sfn.send_task_failure(taskToken=token, error=error[:256], cause=cause[:32768])
