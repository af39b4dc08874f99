"""Deleting a video's outputs: the tombstone first, then its files, then (with the playback CDN) the CDN's copies."""

from __future__ import annotations

import pytest

from contracts import SourceObject, VideoDeleted, stable_event_id
from tests.unit.fakes import FakeStorage, FakeTombstones
from transcode.logic.deletion import DeletionDeps, delete_outputs

pytestmark = pytest.mark.service("transcode")

BUCKET = "transcoded"
VIDEO = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


class FakeCdn:
    """CloudFront's invalidations: a reference sent again with the same paths is the same invalidation."""

    def __init__(self, storage: FakeStorage, failures: int = 0) -> None:
        self.storage, self.failures = storage, failures
        self.invalidations: dict[str, list[str]] = {}
        self.left_then: list[set[str]] = []  # what the bucket held when each request came

    def invalidate(self, paths: list[str], *, reference: str) -> None:
        self.left_then.append(self.storage.keys(BUCKET))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("CloudFront is unreachable")
        assert self.invalidations.setdefault(reference, paths) == paths  # else InvalidationBatchAlreadyExists
        self.invalidations[reference] = paths


def deleted(video_id: str = VIDEO) -> VideoDeleted:
    """VideoDeleted as the catalog publishes it: its id is the video's (a retried delete announces the same)."""
    source = SourceObject(bucket="uploads", key=f"uploads/alice/{video_id}/a.mp4", version="e")
    return VideoDeleted(
        event_id=stable_event_id("VideoDeleted", video_id), correlation_id="c", video_id=video_id, owner="alice",
        source=source,
    )  # fmt: skip


def stored(*video_ids: str) -> FakeStorage:
    storage = FakeStorage()
    for video_id in video_ids:
        for name in ("stream/t1/master.m3u8", "stream/t1/720p/c00000.mp4", "poster.jpg"):
            storage.put_bytes(BUCKET, f"videos/{video_id}/{name}", b"x", "application/octet-stream")
    return storage


def test_with_the_cdn_the_videos_path_is_invalidated_once_its_files_are_gone_however_often_it_comes():
    # Given two videos' files, served through the CDN
    storage = stored(VIDEO, OTHER)
    cdn = FakeCdn(storage)
    deps = DeletionDeps(storage=storage, tombstones=FakeTombstones(), output_bucket=BUCKET, cdn=cdn)
    # When VideoDeleted of one arrives twice (SQS delivers at least once)
    for _ in range(2):
        delete_outputs(deleted(), deps)
    # Then one invalidation (one reference: the event's id) of that video's folder, each asked after its files went
    assert cdn.invalidations == {deleted().event_id: [f"/videos/{VIDEO}/*"]}
    assert all(not any(key.startswith(f"videos/{VIDEO}/") for key in left) for left in cdn.left_then)
    assert storage.keys(BUCKET) == {f"videos/{OTHER}/{name}" for name in
                                    ("stream/t1/master.m3u8", "stream/t1/720p/c00000.mp4", "poster.jpg")}  # fmt: skip


def test_an_invalidation_that_fails_fails_the_message_and_its_retry_invalidates_with_the_files_gone():
    # Given a CDN that cannot be reached once
    storage = stored(VIDEO)
    cdn = FakeCdn(storage, failures=1)
    deps = DeletionDeps(storage=storage, tombstones=FakeTombstones(), output_bucket=BUCKET, cdn=cdn)
    # When the deletion runs: its files go, then the invalidation fails, and so does the message
    with pytest.raises(ConnectionError):
        delete_outputs(deleted(), deps)
    assert storage.keys(BUCKET) == set()
    # Then the redelivered message invalidates, though there is nothing left to delete
    assert delete_outputs(deleted(), deps) == 0
    assert cdn.invalidations == {deleted().event_id: [f"/videos/{VIDEO}/*"]}


def test_without_a_cdn_only_the_tombstone_and_the_files():
    storage, tombstones = stored(VIDEO), FakeTombstones()
    assert delete_outputs(deleted(), DeletionDeps(storage=storage, tombstones=tombstones, output_bucket=BUCKET)) == 3
    assert storage.keys(BUCKET) == set() and tombstones.marked(VIDEO)
