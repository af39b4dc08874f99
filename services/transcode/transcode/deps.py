"""The transcode service's collaborators: one cached builder per function (named after it), given only what
that function uses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from transcode.logic.deletion import DeletionDeps
from transcode.logic.ports import Executions
from transcode.logic.workflow import WorkflowConfig, WorkflowDeps
from transcode.settings import settings

if TYPE_CHECKING:
    from transcode.adapters.aws import TaskCallbacks


@cache
def _s3() -> Any:
    import boto3

    return boto3.client("s3")


@cache
def _tombstones() -> Any:
    import boto3

    from transcode.adapters.aws import DynamoTombstones

    return DynamoTombstones(boto3.resource("dynamodb").Table(settings().deleted_videos_table))


@cache
def states() -> Any:
    import boto3

    return boto3.client("stepfunctions")


@dataclass(frozen=True)
class StartDeps:
    executions: Executions
    uploads_bucket: str  # the only bucket whose uploads are transcoded


@cache
def start_transcode() -> StartDeps:
    from transcode.adapters.aws import StepFunctionsExecutions

    config = settings()
    return StartDeps(StepFunctionsExecutions(states(), config.workflow_arn), config.uploads_bucket)


@dataclass(frozen=True)
class TaskWorker:
    """What the media tasks function needs: the workflow's collaborators and the task token callbacks."""

    workflow: WorkflowDeps
    callbacks: TaskCallbacks
    heartbeat_seconds: float


@cache
def media_tasks() -> TaskWorker:
    from transcode.adapters.aws import TaskCallbacks

    return TaskWorker(_workflow(), TaskCallbacks(states()), settings().heartbeat_seconds)


def _workflow() -> WorkflowDeps:
    import boto3

    from lambdakit.sns import SnsPublisher
    from transcode.adapters.aws import S3Storage
    from transcode.adapters.media import FfmpegMedia, children_cpu_seconds
    from transcode.observability import meter

    config = settings()
    return WorkflowDeps(
        storage=S3Storage(_s3()),
        publisher=SnsPublisher(boto3.client("sns"), config.video_events_topic_arn),
        media=FfmpegMedia(
            preset=config.ffmpeg_preset, threads=config.ffmpeg_threads, encode_timeout=config.encode_timeout_seconds
        ),
        tombstones=_tombstones(),
        config=WorkflowConfig(
            output_bucket=config.transcoded_bucket,
            work_dir=config.work_dir,
            limits=config.limits(),
            grid=config.grid(),
            download_max_bytes=config.download_max_bytes,
            chunk_concurrency=config.chunk_concurrency,
            early_stream=config.early_stream,
        ),
        meter=meter,
        cpu_clock=children_cpu_seconds,  # a worker runs one task at a time, so the difference is that task's
    )


@cache
def delete_renditions() -> DeletionDeps:
    from transcode.adapters.aws import S3Storage

    config = settings()
    deps = DeletionDeps(storage=S3Storage(_s3()), tombstones=_tombstones(), output_bucket=config.transcoded_bucket)
    if config.playback_distribution_id:  # the stage's playback CDN
        import boto3

        from transcode.adapters.cdn import CloudFrontInvalidations

        deps.cdn = CloudFrontInvalidations(boto3.client("cloudfront"), config.playback_distribution_id)
    return deps
