"""A deleted video stays deleted: deleted while it is being processed, then its late and duplicate events
arrive (VideoTranscoded, the upload event, 3 times each), it is not found, not listed, and nothing of it is
left in either bucket.

Every consumer of the stack runs in this process against moto, behind the event source mapping, with the
real handlers; the user's requests go through the real API handlers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contracts import RenditionFile
from contracts.media import MediaSummary
from tests.integration.api import answer, api_event
from tests.integration.conftest import Aws
from tests.integration.faults import Lambdas, TrackedUpload, dead_letter_depths
from tests.integration.pipeline import DownloadingProber, s3_upload_event
from tests.media import make_clip

pytestmark = pytest.mark.service("upload", "transcode", "metadata")

TRANSCODE, RECORD_UPLOAD = "transcode-transcode", "metadata-recordUpload"
DELETIONS = {"transcode-deleteRenditions", "upload-deleteSource"}


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


def assert_gone_for_good(aws: Aws, upload: TrackedUpload) -> None:
    assert get(upload.video_id) == 404
    assert upload.video_id not in listed()
    assert aws.keys(aws.name("transcode", "TranscodedBucket"), f"videos/{upload.video_id}/") == []
    assert aws.keys(aws.name("upload", "UploadsBucket"), f"uploads/alice/{upload.video_id}/") == []
    assert upload.item() is not None and upload.item()["status"] == "DELETED"  # the tombstone
    upload.collect()
    assert [e for e in upload.published if e["event_type"] == "VideoReady"] == []
    assert set(dead_letter_depths(aws).values()) == {0}


def test_a_video_deleted_while_processing_never_comes_back(aws: Aws, lambdas: Lambdas, tiny_clip: Path):
    from catalog import deps

    # Given an upload the transcoder has finished, and alice deleting it while the catalog is PROCESSING it
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

    # Then the video is not found, not listed, and nothing of it is left in either bucket
    assert_gone_for_good(aws, upload)
    assert lambdas.failures(TRANSCODE) == 0 and lambdas.failures(RECORD_UPLOAD) == 0


def test_a_video_deleted_while_it_is_transcoded_leaves_no_renditions(
    aws: Aws, lambdas: Lambdas, tiny_clip: Path, monkeypatch: pytest.MonkeyPatch
):
    from transcode import deps

    # Given an upload alice deletes while the transcoder is encoding it (and the deletion consumers run then)
    upload = TrackedUpload(aws, tiny_clip)
    etag = aws.client("s3").head_object(Bucket=aws.name("upload", "UploadsBucket"), Key=upload.key)["ETag"]
    lambdas.run(only={RECORD_UPLOAD})
    media = deps.transcode().media
    encode = media.transcode

    def encode_and_delete(*args: Any, **kwargs: Any) -> dict[str, Path]:
        outputs = encode(*args, **kwargs)
        assert delete(upload.video_id) == 204
        lambdas.run(only=DELETIONS)
        return outputs

    monkeypatch.setattr(media, "transcode", encode_and_delete)

    # When the transcoder finishes, and the upload event is delivered again three times
    lambdas.run()
    upload.collect()
    assert [e for e in upload.published if e["event_type"] == "VideoTranscoded"] == []  # its work was dropped
    monkeypatch.setattr(media, "transcode", encode)
    upload_event = s3_upload_event(aws, upload.key, etag, event_name="ObjectCreated:Put")
    for _ in range(3):
        for queue in ("video24-transcode-test-transcode", "video24-metadata-test-uploads"):
            aws.client("sqs").send_message(QueueUrl=aws.queue_url(queue), MessageBody=upload_event)
    lambdas.run()

    # Then nothing of it is left anywhere, and it is never listed
    assert get(upload.video_id) == 404
    assert upload.video_id not in listed()
    assert aws.keys(aws.name("transcode", "TranscodedBucket"), f"videos/{upload.video_id}/") == []
    assert aws.keys(aws.name("upload", "UploadsBucket"), f"uploads/alice/{upload.video_id}/") == []
    upload.collect()
    assert {e["event_type"] for e in upload.published} == {"VideoDeleted"}
    assert set(dead_letter_depths(aws).values()) == {0}
