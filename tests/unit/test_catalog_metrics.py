"""What the catalog counts: each upload, READY and FAILED once, however often its event arrives or is retried."""

from __future__ import annotations

import pytest

from catalog.logic.records import CatalogDeps, UploadDeps, record_failed, record_transcoded, record_upload
from contracts import S3EventRecord, Upload, upload_of
from tests.unit.fakes import FakeCatalog, FakeMeter, FakeProber, FakePublisher
from tests.unit.shapes import s3_record
from tests.unit.test_catalog_logic import NOW, failed, transcoded

pytestmark = pytest.mark.service("metadata")

SEQUENCER = "0055AED6DCD90281E5"


def sequenced_upload(sequencer: str = SEQUENCER) -> Upload:
    """An upload as real S3 announces it: with the sequencer of that write of the key."""
    record = s3_record("uploads/alice/vid00001/holiday+clip.mp4", etag="etag-1", size=2_000_000)
    record["s3"]["object"]["sequencer"] = sequencer
    return upload_of(S3EventRecord.model_validate(record))


def deps(publisher: FakePublisher) -> tuple[UploadDeps, CatalogDeps, FakeMeter]:
    store, meter = FakeCatalog(), FakeMeter()
    uploads = UploadDeps(store, uploads_bucket="uploads", publisher=publisher, clock=lambda: NOW, meter=meter)
    events = CatalogDeps(store=store, prober=FakeProber(), publisher=publisher, clock=lambda: NOW, meter=meter)
    return uploads, events, meter


def test_an_upload_counts_once_though_its_announcement_failed_and_it_came_again():
    # Given SNS that fails the first status announcement
    uploads, _, meter = deps(FakePublisher(failures=1, only="VideoStatusChanged"))
    # When the upload is recorded, fails to announce, is retried, and is delivered once more
    with pytest.raises(ConnectionError):
        record_upload(sequenced_upload(), uploads)
    record_upload(sequenced_upload(), uploads)
    record_upload(sequenced_upload(), uploads)
    # Then VideosUploaded counted it once; a later write of the key is a new upload, counted too
    assert meter.recorded == [("VideosUploaded", 1, {})]
    record_upload(sequenced_upload("0055AED6DCD90281F0"), uploads)
    assert len(meter.recorded) == 2


def test_ready_counts_the_video_and_its_source_minutes_once():
    # Given an uploaded video
    uploads, events, meter = deps(FakePublisher(failures=1, only="VideoReady"))
    record_upload(sequenced_upload(), uploads)
    # When VideoTranscoded arrives, its VideoReady fails to go out, and it is retried twice
    with pytest.raises(ConnectionError):
        record_transcoded(transcoded(), events)
    record_transcoded(transcoded(), events)
    record_transcoded(transcoded(), events)
    # Then VideosReady is one, and SourceMinutes the duration ffprobe read (12.5 s) in minutes
    assert meter.recorded[1:] == [("VideosReady", 1, {}), ("SourceMinutes", pytest.approx(12.5 / 60), {})]


def test_a_failure_counts_once_by_its_reason():
    # Given an uploaded video, and SNS that fails the next status announcement
    publisher = FakePublisher()
    uploads, events, meter = deps(publisher)
    record_upload(sequenced_upload(), uploads)
    publisher.failures, publisher.only = 1, "VideoStatusChanged"
    # When its VideoTranscodeFailed fails to announce and comes again, twice
    with pytest.raises(ConnectionError):
        record_failed(failed(), events)
    record_failed(failed(), events)
    record_failed(failed(), events)
    # Then VideosFailed counted it once, with the failure code as its reason
    assert meter.recorded[1:] == [("VideosFailed", 1, {"reason": "NO_VIDEO_STREAM"})]
