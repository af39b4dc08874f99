"""The catalog's handlers against moto emit their metrics as EMF lines on stdout (how CloudWatch gets them)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lambdakit.metrics import SOURCE_MINUTES, VIDEOS_FAILED, VIDEOS_READY, VIDEOS_UPLOADED
from tests.emf import emitted, values
from tests.integration.conftest import Aws, Context, sqs_event
from tests.integration.pipeline import DownloadingProber, catalog_handlers, s3_upload_event
from tests.integration.test_catalog_handlers import failed, transcoded

pytestmark = pytest.mark.service("metadata")


@pytest.fixture
def catalog(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    yield from catalog_handlers(aws, monkeypatch, DownloadingProber(aws.client("s3"), tmp_path))


def test_uploaded_ready_and_failed_are_counted_once_each(
    aws: Aws, catalog, small_clip: Path, capsys: pytest.CaptureFixture[str]
):
    # Given two uploads, announced by S3 with their sequencer, each delivered twice
    ready_id, failed_id = uuid.uuid4().hex, uuid.uuid4().hex
    for video_id in (ready_id, failed_id):
        body = s3_upload_event(aws, f"uploads/alice/{video_id}/a b.mp4", sequencer="0055AED6DCD90281E5")
        for _ in range(2):
            catalog.on_upload(sqs_event(body), Context())
    # When one is transcoded and the other fails, each event delivered twice
    for _ in range(2):
        catalog.on_video_event(sqs_event(transcoded(aws, ready_id, small_clip).model_dump_json()), Context())
        catalog.on_video_event(sqs_event(failed(failed_id).model_dump_json()), Context())
    # Then the metadata service counted two uploads, one READY with its minutes, one FAILED by its code
    documents = emitted(capsys)
    service = {"service": "metadata"}
    assert values(documents, VIDEOS_UPLOADED) == [(1.0, service), (1.0, service)]
    assert values(documents, VIDEOS_READY) == [(1.0, service)]
    ((minutes, _),) = values(documents, SOURCE_MINUTES)
    assert minutes == pytest.approx(2 / 60, abs=0.2 / 60)  # the 2 s clip
    assert values(documents, VIDEOS_FAILED) == [(1.0, service | {"reason": "NO_VIDEO_STREAM"})]
