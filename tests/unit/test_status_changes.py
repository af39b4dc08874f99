"""The catalog announces every change of a video's status or progress once (VideoStatusChanged), and nothing for
an input that changed nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalog.logic.records import (
    CatalogDeps,
    UploadDeps,
    record_failed,
    record_progress,
    record_transcoded,
    record_upload,
)
from catalog.logic.views import DeleteDeps, delete_video
from contracts import S3EventRecord, upload_of
from tests.unit import shapes
from tests.unit.fakes import FakeCatalog, FakeProber, FakePublisher

pytestmark = pytest.mark.service("metadata")

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
VIDEO_ID = "vid00001"
KEY = f"uploads/alice/{VIDEO_ID}/a+b.mp4"


def _deps(publisher: FakePublisher | None = None) -> tuple[FakeCatalog, FakePublisher, UploadDeps, CatalogDeps]:
    store, publisher = FakeCatalog(), publisher or FakePublisher()
    uploads = UploadDeps(store, uploads_bucket="uploads", publisher=publisher, clock=lambda: NOW)
    return store, publisher, uploads, CatalogDeps(store, FakeProber(), publisher, clock=lambda: NOW)


def _upload():
    return upload_of(S3EventRecord.model_validate(shapes.s3_record(KEY, bucket="uploads")))


def test_each_change_is_announced_once_in_order_and_duplicates_announce_nothing():
    _store, publisher, uploads, deps = _deps()
    # When a video's events arrive, each twice (SQS is at least once), progress out of order
    for _ in range(2):
        record_upload(_upload(), uploads)
    for done in (1, 2, 1, 2):
        record_progress(shapes.progress(VIDEO_ID, done, 3), deps)
    for _ in range(2):
        record_transcoded(shapes.transcoded_v2(VIDEO_ID), deps)
    # Then each change was announced once, in order, for the owner, with the title
    changes = publisher.status_changes
    assert [(c.status, c.progress) for c in changes] == [
        ("UPLOADED", None),
        ("PROCESSING", 0.3333),
        ("PROCESSING", 0.6667),
        ("READY", None),
    ]
    assert [c.sequence for c in changes] == sorted({c.sequence for c in changes})
    assert {(c.owner, c.title, c.video_id) for c in changes} == {("alice", "a b.mp4", VIDEO_ID)}
    assert [c.rank for c in changes] == [1, 2, 2, 4]


def test_a_failure_is_announced_with_its_reason_once():
    _store, publisher, uploads, deps = _deps()
    record_upload(_upload(), uploads)
    for _ in range(3):
        record_failed(shapes.failed(VIDEO_ID), deps)
    failed = [c for c in publisher.status_changes if c.status == "FAILED"]
    assert len(failed) == 1 and failed[0].reason and failed[0].rank == 3


def test_a_status_change_that_could_not_be_published_is_announced_by_the_retry_with_the_same_id():
    # Given SNS failing the first status change after the PROCESSING write
    _store, publisher, uploads, deps = _deps(FakePublisher())
    record_upload(_upload(), uploads)
    publisher.failures = 1
    with pytest.raises(ConnectionError):
        record_progress(shapes.progress(VIDEO_ID, 1, 3), deps)
    # When the same event is delivered again (its write now changes nothing), and once more
    record_progress(shapes.progress(VIDEO_ID, 1, 3), deps)
    record_progress(shapes.progress(VIDEO_ID, 1, 3), deps)
    # Then the change went out once, with the id the failed attempt had
    processing = [c for c in publisher.status_changes if c.status == "PROCESSING"]
    assert len(processing) == 1 and processing[0].event_id == publisher.attempts[1].event_id


def test_a_deletion_is_announced_and_late_events_announce_nothing():
    store, publisher, uploads, deps = _deps()
    record_upload(_upload(), uploads)
    delete_video("alice", VIDEO_ID, correlation_id="r", deps=DeleteDeps(store, publisher, clock=lambda: NOW))
    before = len(publisher.published)
    record_upload(_upload(), uploads)
    record_progress(shapes.progress(VIDEO_ID, 1, 3), deps)
    record_failed(shapes.failed(VIDEO_ID), deps)
    assert [c.status for c in publisher.status_changes] == ["UPLOADED", "DELETED"]
    assert publisher.status_changes[-1].rank == 5 and len(publisher.published) == before
