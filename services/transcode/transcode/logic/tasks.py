"""The task messages the workflow's state machine sends, and which step does each."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts import Upload
from contracts.events import (
    ChunkRef,
)
from transcode.logic.assembly import assemble, fail, failure_of
from transcode.logic.encoding import encode_audio, encode_chunk, plan
from transcode.logic.workflow import (
    Plan,
    WorkflowDeps,
)

# --- The task messages the state machine sends ----------------------------------------------------------


class TaskMessage(BaseModel):
    """What a `sqs:sendMessage.waitForTaskToken` task of the workflow puts on the media tasks queue."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    task: str
    token: str
    input: dict[str, Any]

    @property
    def _upload(self) -> dict[str, Any]:
        """The upload the task is about, as the state machine passed it (in the input or in its plan)."""
        upload = self.input.get("upload") or (self.input.get("plan") or {}).get("upload")
        return upload if isinstance(upload, dict) else {}

    @property
    def correlation_id(self) -> str | None:
        return self._upload.get("correlation_id")

    def describe(self, result: dict[str, Any]) -> dict[str, Any]:
        """What a log line says about the task and its result: a failure's code, and its `detail` in the tool's
        own words (the only place they go: people read the code's sentence)."""
        upload, failure = self._upload, result.get("failure") or {}
        said = {
            "video_id": upload.get("video_id"),
            "chunk": (self.input.get("chunk") or {}).get("index"),
            "round": self.input.get("round"),
            "status": result.get("status"),
            "reason": result.get("reason") or failure.get("reason_code"),
            "detail": failure.get("detail"),
            "subtitles_left_out": result.get("subtitles_left_out"),  # the video went on without them
        }
        return {name: value for name, value in said.items() if value is not None}


TASKS = ("plan", "chunk", "audio", "assemble", "fail")
# The errors a task answers the state machine with (SendTaskFailure), which its Retry and Catch match
# (services/transcode/workflow.asl.yml); the cause is the failure as JSON.
RETRYABLE = "Transcode.Retryable"  # understood, and may pass on another try (ffmpeg failed on a chunk)
FAILED = "Transcode.Failed"  # understood, and for good (refused by the gate, the source is gone)
WORKER_FAULT = "TaskError"  # the worker's own fault (an exception): the cause is its words


def task_failure(result: dict[str, Any]) -> tuple[str, str] | None:
    """A `failed` result as the task's failure, (error, cause), for SendTaskFailure; None for any other result."""
    if result.get("status") != "failed":
        return None
    failure = result.get("failure") or {}
    return (RETRYABLE if failure.get("retryable") else FAILED), json.dumps(failure)


# Short and idempotent: retried in place when they raise (a throttle, a 5xx after the SDK's own retries). The
# state machine retries the long ones, chunks and the audio, with a new message (a worker that died included).
RETRIED_IN_PLACE = ("plan", "assemble", "fail")
IN_PLACE_WAITS = (1.0, 4.0)  # seconds before each try again of a short task


def run_task(
    message: TaskMessage,
    deps: WorkflowDeps,
    *,
    retry_seconds: tuple[float, ...] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Do one task of the workflow; its result for the state machine (a short one tried again in place after
    each of `retry_seconds`, IN_PLACE_WAITS unless given)."""
    waits = (IN_PLACE_WAITS if retry_seconds is None else retry_seconds) if message.task in RETRIED_IN_PLACE else ()
    for wait in waits:
        try:
            return _run(message, deps)
        except Exception:
            sleep(wait)
    return _run(message, deps)


def _run(message: TaskMessage, deps: WorkflowDeps) -> dict[str, Any]:
    given = message.input
    if message.task == "plan":
        return plan(Upload.model_validate(given["upload"]), deps)
    if message.task == "fail":
        failure = given.get("failure") or failure_of(given.get("error"))
        return fail(Upload.model_validate(given["upload"]), failure, deps)
    the_plan = Plan.model_validate(given["plan"])
    if message.task == "chunk":
        round_index = int(given.get("round") or 0)
        return encode_chunk(the_plan, ChunkRef.model_validate(given["chunk"]), deps, round_index)
    if message.task == "audio":
        return encode_audio(the_plan, deps)
    if message.task == "assemble":
        return assemble(the_plan, deps)
    raise ValueError(f"unknown task {message.task!r}; known: {', '.join(TASKS)}")
