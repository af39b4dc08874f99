"""SQS (the workflow's media tasks queue) -> do the task (plan, chunk, audio, assemble, fail) and call back."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lambdakit.sqs import batch_handler
from transcode import deps
from transcode.logic.tasks import WORKER_FAULT, TaskMessage, run_task, task_failure
from transcode.observability import logger, tracer


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> None:
    message = TaskMessage.model_validate_json(record.body)  # unreadable: fails alone, ends in the DLQ
    worker = deps.media_tasks()
    callbacks = worker.callbacks
    logger.set_correlation_id(message.correlation_id)
    tracer.put_annotation(key="task", value=message.task)
    if not callbacks.alive(message.token):
        logger.info("task is over already (timed out and retried, or its workflow ended); skipped")
        return
    try:
        with callbacks.heartbeats(message.token, worker.heartbeat_seconds):
            result = run_task(message, worker.workflow)
    except Exception as exc:  # the worker's own fault: the workflow retries the step with a new message
        logger.exception("task failed", extra={"task": message.task})
        callbacks.fail(message.token, WORKER_FAULT, f"{type(exc).__name__}: {exc}")
        return
    failure = task_failure(result)
    if failure:  # understood: the state machine's Retry and Catch decide what comes next
        callbacks.fail(message.token, *failure)
    else:
        callbacks.succeed(message.token, result)
    logger.info("task done", extra={"task": message.task, **message.describe(result)})


handler = tracer.capture_lambda_handler(batch_handler(record_handler, logger=logger), capture_response=False)
