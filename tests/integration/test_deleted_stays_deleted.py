"""A deleted video stays deleted: deleted before its transcode workflow runs, while it runs, or after it ended
(while the catalog is still processing its outcome); then its late and duplicate events arrive
(VideoTranscoded, the upload event, 3 times each) and its workflow is run again: it is not found, not listed,
and nothing of it is left in either bucket.

Every consumer of the stack runs in this process behind the event source mapping, with the real handlers,
against a moto server that executes the transcode workflow; the user's requests go through the real API
handlers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts import RenditionFile
from contracts.media import MediaSummary
from tests.integration.api import answer, api_event
from tests.integration.conftest import Aws, moto_stack
from tests.integration.faults import Lambdas, TrackedUpload, dead_letter_depths, empty_queues
from tests.integration.pipeline import DownloadingProber, s3_upload_event
from tests.media import make_clip

pytestmark = pytest.mark.service("upload", "transcode", "metadata")

START, TASKS, RECORD_UPLOAD = "transcode-startTranscode", "transcode-mediaTasks", "metadata-recordUpload"
DELETIONS = {"transcode-deleteRenditions", "upload-deleteSource"}


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_stack(server=True) as stack:
        yield stack


@pytest.fixture(autouse=True)
def quiet_queues(aws: Aws) -> Iterator[None]:
    yield
    empty_queues(aws)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("deletion-clips") / "tiny.mp4", width=320, height=180, seconds=1)


@pytest.fixture
def lambdas(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Lambdas:
    return Lambdas(aws, monkeypatch, tmp_path / "work", DownloadingProber(aws.client("s3"), tmp_path))


def delete(video_id: str) -> int:
    """DELETE /videos/{id} as alice, through the API handler."""
    from catalog.handlers import delete_video

    event = api_event("DELETE", f"/videos/{video_id}", sub="alice", path_parameters={"id": video_id})
    return answer(delete_video.handler(event, None))[0]


def get(video_id: str) -> int:
    from catalog.handlers import get_video

    event = api_event("GET", f"/videos/{video_id}", sub="alice", path_parameters={"id": video_id})
    return answer(get_video.handler(event, None))[0]


def listed() -> list[str]:
    from catalog.handlers import list_videos

    status, page = answer(list_videos.handler(api_event("GET", "/videos", sub="alice", query={"limit": "50"}), None))
    assert status == 200
    return [video["video_id"] for video in page["videos"]]


class DuringProbe:
    """A prober that runs `action` when the catalog probes the first rendition (the video is PROCESSING then)."""

    def __init__(self, prober: Any, action: Callable[[], None]) -> None:
        self.prober, self.action, self.fired = prober, action, False

    def probe(self, rendition: RenditionFile) -> MediaSummary:
        if not self.fired:
            self.fired = True
            self.action()
        return self.prober.probe(rendition)


def redeliver(aws: Aws, upload: TrackedUpload, etag: str, times: int = 3) -> None:
    """The late and duplicate deliveries: VideoTranscoded to the catalog, the upload event to both its consumers."""
    sqs = aws.client("sqs")
    transcoded = [e for e in upload.published if e["event_type"] == "VideoTranscoded"]
    assert transcoded, "the transcoder had announced the video"
    upload_event = s3_upload_event(aws, upload.key, etag, event_name="ObjectCreated:Put")
    for _ in range(times):
        sqs.send_message(
            QueueUrl=aws.queue_url("video24-metadata-test-video-events"), MessageBody=json.dumps(transcoded[0])
        )
        for queue in ("video24-transcode-test-transcode", "video24-metadata-test-uploads"):
            sqs.send_message(QueueUrl=aws.queue_url(queue), MessageBody=upload_event)


def rerun(aws: Aws, lambdas: Lambdas, upload: TrackedUpload) -> None:
    """The upload's workflow started again under a new name (as an operator's rerun would), and run to its end."""
    execution = lambdas.executions(upload.video_id)[-1]  # the first one started (newest are listed first)
    document = lambdas.sfn.describe_execution(executionArn=execution["executionArn"])["input"]
    lambdas.sfn.start_execution(stateMachineArn=lambdas.machine, name=f"{execution['name']}-again", input=document)
    lambdas.run()


def redeliver_upload(aws: Aws, upload: TrackedUpload, etag: str, times: int = 3) -> None:
    """The upload event, delivered late and again to both its consumers."""
    upload_event = s3_upload_event(aws, upload.key, etag, event_name="ObjectCreated:Put")
    for _ in range(times):
        for queue in ("video24-transcode-test-transcode", "video24-metadata-test-uploads"):
            aws.client("sqs").send_message(QueueUrl=aws.queue_url(queue), MessageBody=upload_event)


def assert_gone_for_good(aws: Aws, upload: TrackedUpload, lambdas: Lambdas) -> None:
    assert {e["status"] for e in lambdas.executions(upload.video_id)} <= {"SUCCEEDED"}  # none failed, none runs
    assert get(upload.video_id) == 404
    assert upload.video_id not in listed()
    assert aws.keys(aws.name("transcode", "TranscodedBucket"), f"videos/{upload.video_id}/") == []
    assert aws.keys(aws.name("upload", "UploadsBucket"), f"uploads/alice/{upload.video_id}/") == []
    assert upload.item() is not None and upload.item()["status"] == "DELETED"  # the tombstone
    upload.collect()
    assert [e for e in upload.published if e["event_type"] == "VideoReady"] == []
    assert set(dead_letter_depths(aws).values()) == {0}


def test_a_video_deleted_before_its_workflow_runs_is_never_transcoded(aws: Aws, lambdas: Lambdas, tiny_clip: Path):
    # Given an upload the catalog has recorded, deleted by alice before the transcoder got to it
    upload = TrackedUpload(aws, tiny_clip)
    etag = aws.client("s3").head_object(Bucket=aws.name("upload", "UploadsBucket"), Key=upload.key)["ETag"]
    lambdas.run(only={RECORD_UPLOAD})
    assert delete(upload.video_id) == 204
    lambdas.run(only=DELETIONS)

    # When the transcoder starts its workflow, the upload event is delivered 3 times more, and the workflow is run
    # again
    lambdas.run()
    redeliver_upload(aws, upload, etag)
    lambdas.run()
    rerun(aws, lambdas, upload)

    # Then each execution skipped it (the deletion's tombstone), and nothing of it is anywhere
    assert len(lambdas.executions(upload.video_id)) >= 2
    assert_gone_for_good(aws, upload, lambdas)
    assert lambdas.failures(START) == 0 and lambdas.failures(TASKS) == 0


def test_a_video_deleted_after_its_workflow_ended_never_comes_back(aws: Aws, lambdas: Lambdas, tiny_clip: Path):
    from catalog import deps

    # Given an upload whose workflow has ended, and alice deleting it while the catalog is PROCESSING its outcome
    upload = TrackedUpload(aws, tiny_clip)
    etag = aws.client("s3").head_object(Bucket=aws.name("upload", "UploadsBucket"), Key=upload.key)["ETag"]
    seen: list[str] = []

    def delete_now() -> None:
        seen.append(upload.item()["status"])
        assert delete(upload.video_id) == 204

    catalog = deps.record_video_event()
    catalog.prober = DuringProbe(catalog.prober, delete_now)

    # When every consumer runs (the deletion reaches both services), and then VideoTranscoded and the upload
    # event are delivered again, three times each
    lambdas.run()
    assert seen == ["PROCESSING"]
    upload.collect()
    redeliver(aws, upload, etag)
    lambdas.run()
    rerun(aws, lambdas, upload)

    # Then the video is not found, not listed, and nothing of it is left in either bucket
    assert_gone_for_good(aws, upload, lambdas)
    assert lambdas.failures(START) == 0 and lambdas.failures(RECORD_UPLOAD) == 0


def test_a_video_deleted_while_its_workflow_runs_leaves_nothing_behind(
    aws: Aws, lambdas: Lambdas, tiny_clip: Path, monkeypatch: pytest.MonkeyPatch
):
    from transcode import deps

    # Given an upload alice deletes while its chunk is being encoded (and the deletion consumers run then)
    upload = TrackedUpload(aws, tiny_clip)
    etag = aws.client("s3").head_object(Bucket=aws.name("upload", "UploadsBucket"), Key=upload.key)["ETag"]
    lambdas.run(only={RECORD_UPLOAD})
    media = deps.media_tasks().workflow.media
    encode = media.encode_chunk

    def encode_and_delete(*args: Any, **kwargs: Any) -> Any:
        files = encode(*args, **kwargs)
        assert delete(upload.video_id) == 204
        lambdas.run(only=DELETIONS)
        return files

    monkeypatch.setattr(media, "encode_chunk", encode_and_delete)

    # When the workflow goes on to its end (the chunk and the audio write after the deletion), the upload event is
    # delivered again three times, and the workflow is run again
    lambdas.run()
    upload.collect()
    assert [e for e in upload.published if e["event_type"] == "VideoTranscoded"] == []  # its work was dropped
    monkeypatch.setattr(media, "encode_chunk", encode)
    redeliver_upload(aws, upload, etag)
    lambdas.run()
    rerun(aws, lambdas, upload)

    # Then nothing of it is left anywhere, it is never listed, and only its deletion (and the chunk's progress, which
    # the catalog ignores for a deleted video) was announced; its owner's pages saw it go, and never READY
    assert_gone_for_good(aws, upload, lambdas)
    published = {e["event_type"] for e in upload.published}
    assert published <= {"VideoDeleted", "VideoTranscodeProgress", "VideoStatusChanged"}
    statuses = {e["status"] for e in upload.published if e["event_type"] == "VideoStatusChanged"}
    assert "DELETED" in statuses and statuses <= {"UPLOADED", "PROCESSING", "DELETED"}
    assert lambdas.failures(START) == 0 and lambdas.failures(TASKS) == 0
