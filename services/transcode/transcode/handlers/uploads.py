"""SQS (subscribed to the `uploads` topic) -> start one workflow execution per uploaded object version."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lambdakit.sqs import batch_handler, read_uploads
from transcode import deps
from transcode.logic.workflow import execution_name, workflow_input
from transcode.observability import logger


def record_handler(record: SQSRecord) -> None:
    start = deps.start_transcode()
    for upload in read_uploads(record.body, bucket=start.uploads_bucket, logger=logger):
        logger.set_correlation_id(upload.correlation_id)
        name = execution_name(upload)
        started = start.executions.start(name, workflow_input(upload))
        message = "workflow started" if started else "workflow already started for this upload; duplicate skipped"
        logger.info(message, extra={"video_id": upload.video_id, "key": upload.key, "execution": name})


handler = batch_handler(record_handler, logger=logger)
