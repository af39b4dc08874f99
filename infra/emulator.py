"""Where moto's Step Functions (the local stack's AWS) acts unlike AWS, and how the local stack makes up for it.

The services' workflows are written for AWS. Each gap below was read in moto 5.2.5's source
(moto/stepfunctions/, its parser/ is LocalStack's ASL interpreter) and is made up for here, by name:

1. `Retry` on a waitForTaskToken Task reuses the task token, and the token's first answer. moto makes the
   token once per state (`StateTaskServiceCallback._eval_body`), outside its retry loop
   (`ExecutionState._eval_state`), and the token's `CallbackEndpoint` keeps the first attempt's outcome: a
   retry sends the old token again and gives up at once (or at the worker's first heartbeat) with the old
   failure, while the worker still works on it. -> `for_moto` turns each Task's Retry into copies of the
   Task chained by a Catch (and a Wait): every try enters a state anew, so it gets a token of its own.
2. moto's retrier sleeps `IntervalSeconds` x `BackoffRate`^n (`RetrierDecl`; ASL wants 1 s at least), so a
   test could not retry at once. -> the copies' Wait states wait what the stage says (a service's
   `custom.emulator.retrySeconds`, '0,0' in tests: no Wait at all), else what the Retry says.
3. SendTaskFailure's `cause` is dropped: `StepFunctionResponse.send_task_failure` passes only `error` on to
   the interpreter, so a Catch sees `"Cause": ""` and the failure a worker explained is lost.
   -> `keep_task_failure_causes` passes it on (a patch of that one handler, in the process that runs moto).

4. (DynamoDB, not Step Functions) moto applies an UpdateItem to the stored item one action at a time, and its
   server answers requests in threads, so a GetItem (or Query, Scan) beside it can see a half-written item:
   DynamoDB never shows one. -> `atomic_dynamodb_items` makes each of moto's item reads and writes hold one
   lock (in the process that runs moto), so each write is seen whole or not at all.
5. (CloudFront) moto's CreateInvalidation makes a new invalidation every time: CloudFront answers a second request
   with the same CallerReference and the same paths with the invalidation it made for the first (and refuses other
   paths: InvalidationBatchAlreadyExists), which is what makes a redelivered deletion's invalidation harmless.
   -> `invalidations_by_caller_reference` makes moto do the same (in the process that runs moto; the local stack
   has no CDN: the integration tests use it).

What this cannot emulate: a moto server in another process keeps gap 3 (the local stack and the tests run
moto in their own process); a Task with more than one retrier is refused (their counters would multiply the
copies; no workflow here has one); `JitterStrategy` is not applied (the copies wait the full interval).
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Sequence
from typing import Any

from infra.serverless import TopologyError


def for_moto(definition: str, retry_seconds: Sequence[float] | None = None) -> str:
    """The definition (ASL JSON) as moto runs it like AWS: each Task's `Retry` as a chain of tries (gaps 1, 2).

    A Task `T` whose retrier allows `MaxAttempts` n becomes n + 1 tries: `T`, `T (try 2)`, ... Each try but
    the last catches the retrier's errors (keeping its input, as a retry does) and goes on, through
    `T (wait k)` when there is a wait, to the next try, before the Task's own Catch; the last try is the Task
    without its Retry, so what still fails goes to its Catch, or fails the branch, as on AWS. Other states
    still name `T`, the first try. `retry_seconds`: the wait before each retry (the last repeats).
    """
    machine = json.loads(definition)
    _unroll(machine, tuple(retry_seconds) if retry_seconds is not None else None)
    return json.dumps(machine)


def _unroll(machine: dict[str, Any], waits: tuple[float, ...] | None) -> None:
    states: dict[str, Any] = machine.get("States") or {}
    for name, state in list(states.items()):
        for nested in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])):
            if isinstance(nested, dict):
                _unroll(nested, waits)
        if state.get("Type") == "Task" and state.get("Retry"):
            tries = _tries(name, state, waits)
            if clash := (set(tries) - {name}) & set(states):
                raise TopologyError(f"{name}: its retries would be named like states it has: {sorted(clash)}")
            states.update(tries)


def _tries(name: str, task: dict[str, Any], waits: tuple[float, ...] | None) -> dict[str, dict[str, Any]]:
    retrier, *others = task["Retry"]
    if others:
        raise TopologyError(f"{name}: the local stack emulates one retrier per Task, not {len(task['Retry'])}")
    attempts = int(retrier.get("MaxAttempts", 3))
    last = {k: v for k, v in task.items() if k != "Retry"}
    errors = list(retrier["ErrorEquals"])
    # (a retrier of States.ALL takes every error while it has tries left: the Task's own Catch comes after)
    catchers = [] if "States.ALL" in errors else list(last.get("Catch") or [])
    tries: dict[str, dict[str, Any]] = {}
    for retry in range(attempts):
        this = name if retry == 0 else f"{name} (try {retry + 1})"
        following = f"{name} (try {retry + 2})"
        seconds = _wait(retrier, retry, waits)
        if seconds > 0:
            tries[f"{name} (wait {retry + 1})"] = {"Type": "Wait", "Seconds": seconds, "Next": following}
            following = f"{name} (wait {retry + 1})"
        again = {"ErrorEquals": errors, "ResultPath": None, "Next": following}
        tries[this] = {**last, "Catch": [again, *catchers]}
    tries[name if attempts == 0 else f"{name} (try {attempts + 1})"] = last
    return tries


def _wait(retrier: dict[str, Any], retry: int, waits: tuple[float, ...] | None) -> int:
    """Whole seconds before retry `retry` (0: the first): the stage's, else the retrier's own backoff."""
    if waits is not None:
        return math.ceil(waits[min(retry, len(waits) - 1)]) if waits else 0
    seconds: float = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** retry
    if "MaxDelaySeconds" in retrier:
        seconds = min(seconds, retrier["MaxDelaySeconds"])
    return math.ceil(seconds)


def keep_task_failure_causes() -> None:
    """Make this process's moto pass SendTaskFailure's `cause` on to the state machine, as AWS does (gap 3)."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    if getattr(StepFunctionResponse.send_task_failure, "keeps_cause", False):
        return

    def send_task_failure(self: StepFunctionResponse) -> EmptyResult:
        backend = self.stepfunction_backend  # (the recording backend, when moto does not execute, takes no cause)
        said = {"error": self._get_param("error"), "cause": self._get_param("cause")}
        accepted = inspect.signature(backend.send_task_failure).parameters
        backend.send_task_failure(self._get_param("taskToken"), **{k: v for k, v in said.items() if k in accepted})
        return EmptyResult()

    send_task_failure.keeps_cause = True  # type: ignore[attr-defined]
    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]


def invalidations_by_caller_reference() -> None:
    """Make this process's moto answer a repeated CreateInvalidation as CloudFront does (gap 5)."""
    from moto.cloudfront.exceptions import CloudFrontException
    from moto.cloudfront.models import CloudFrontBackend, Invalidation

    create = CloudFrontBackend.create_invalidation
    if getattr(create, "by_caller_reference", False):
        return

    def create_invalidation(self: CloudFrontBackend, dist_id: str, paths: list[str], caller_ref: str) -> Invalidation:
        for made in self.invalidations.get(dist_id, []):
            if made.caller_ref == caller_ref:
                if list(made.paths) != list(paths):
                    raise CloudFrontException(
                        "InvalidationBatchAlreadyExists", f"CallerReference {caller_ref} was sent with other paths"
                    )
                return made
        return create(self, dist_id, paths, caller_ref)

    create_invalidation.by_caller_reference = True  # type: ignore[attr-defined]
    CloudFrontBackend.create_invalidation = create_invalidation  # type: ignore[method-assign]


# (moto's batch and transactional reads go through get_item and put_item: its responses.py)
_ITEM_CALLS = ("put_item", "get_item", "update_item", "delete_item", "query", "scan", "transact_write_items")


def atomic_dynamodb_items() -> None:
    """Make this process's moto read and write DynamoDB items one request at a time (gap 4)."""
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "atomic_items", False):
        return
    lock = threading.RLock()

    def atomic(call: Any) -> Any:
        @functools.wraps(call)
        def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return call(*args, **kwargs)

        return one_at_a_time

    for name in _ITEM_CALLS:
        if hasattr(DynamoDBBackend, name):
            setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.atomic_items = True  # type: ignore[attr-defined]
