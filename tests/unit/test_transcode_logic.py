"""transcode_upload with in-memory storage, publisher and media tool: what it publishes and writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts import (
    FailureReason,
    S3EventRecord,
    Upload,
    VideoDeleted,
    VideoTranscoded,
    VideoTranscodeFailed,
    upload_of,
)
from contracts.events import TOMBSTONE_LIFETIME
from contracts.keys import manifest_key
from contracts.media import Probe
from mediatools import MediaToolError
from tests.unit.fakes import FakeMedia, FakePublisher, FakeStorage, FakeTombstones
from tests.unit.shapes import s3_record
from transcode.logic.deletion import DeletionDeps, delete_outputs
from transcode.logic.transcode import Skipped, TranscodeConfig, TranscodeDeps, transcode_upload

pytestmark = pytest.mark.service("transcode")

OUTPUT_BUCKET = "transcoded"
SOURCE_KEY = "uploads/alice/vid00001/holiday clip.mp4"
SOURCE_BYTES = b"not really an mp4, the fake media tool does not care"
MANIFEST = (OUTPUT_BUCKET, manifest_key("vid00001"))
STARTED = datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC)


def _probe(*, audio_only: bool = False) -> Probe:
    video = {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 1280, "height": 720}
    video |= {"avg_frame_rate": "30/1", "r_frame_rate": "30/1"}
    audio = {"index": 1, "codec_type": "audio", "codec_name": "aac", "channels": 2}
    streams = [{**audio, "index": 0}] if audio_only else [video, audio]
    fmt = {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "12.500000", "size": str(len(SOURCE_BYTES))}
    return Probe.model_validate({"format": fmt, "streams": streams})


def _record(etag: str = "etag-1", size: int | None = len(SOURCE_BYTES)) -> Upload:
    record = S3EventRecord.model_validate(s3_record("uploads/alice/vid00001/holiday+clip.mp4", etag=etag, size=size))
    return upload_of(record)


@dataclass
class World:
    storage: FakeStorage
    publisher: FakePublisher
    media: FakeMedia
    tombstones: FakeTombstones
    deps: TranscodeDeps

    @property
    def work_dir(self) -> Path:
        return self.deps.config.work_dir


def _world(tmp_path: Path, media: FakeMedia | None = None, publisher: FakePublisher | None = None) -> World:
    storage = FakeStorage({("uploads", SOURCE_KEY): SOURCE_BYTES})
    publisher = publisher or FakePublisher()
    media = media or FakeMedia(_probe())
    tombstones = FakeTombstones()
    config = TranscodeConfig(uploads_bucket="uploads", output_bucket=OUTPUT_BUCKET, work_dir=tmp_path / "work")
    deps = TranscodeDeps(storage, publisher, media, tombstones, config, clock=lambda: STARTED)
    return World(storage, publisher, media, tombstones, deps)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return _world(tmp_path)


def test_a_good_upload_publishes_video_transcoded(world: World) -> None:
    # Given a 1280x720 upload in the uploads bucket
    record = _record()

    # When it is transcoded
    outcome = transcode_upload(record, world.deps)

    # Then one VideoTranscoded is published, for this video and this version of the source
    assert isinstance(outcome, VideoTranscoded)
    assert world.publisher.published == [outcome]
    assert (outcome.video_id, outcome.owner) == ("vid00001", "alice")
    assert (outcome.source.bucket, outcome.source.key, outcome.source.version) == ("uploads", SOURCE_KEY, "etag-1")
    assert outcome.correlation_id == record.correlation_id
    assert outcome.started_at == STARTED
    # And its renditions and poster were uploaded under videos/{video_id}/ in the output bucket
    assert [(r.name, r.width, r.height) for r in outcome.renditions] == [("720p", 1280, 720), ("480p", 854, 480)]
    for rendition in outcome.renditions:
        assert (rendition.bucket, rendition.key) == (OUTPUT_BUCKET, f"videos/vid00001/{rendition.name}.mp4")
        data, content_type = world.storage.uploaded[(OUTPUT_BUCKET, rendition.key)]
        assert content_type == "video/mp4"
        assert rendition.size_bytes == len(data) == rendition.height
    assert outcome.poster.key == "videos/vid00001/poster.jpg"
    assert world.storage.uploaded[(OUTPUT_BUCKET, outcome.poster.key)][1] == "image/jpeg"
    assert set(world.storage.uploaded) == {(OUTPUT_BUCKET, f.key) for f in [*outcome.renditions, outcome.poster]}
    # And the source was downloaded by its decoded key, and the manifest records what was done
    assert world.storage.downloads == [("uploads", SOURCE_KEY)]
    manifest = world.storage.documents[MANIFEST]
    assert manifest["source"] == outcome.source.model_dump(mode="json")
    assert manifest["event"]["event_id"] == outcome.event_id


def test_the_same_record_twice_does_the_work_once(world: World) -> None:
    # Given an upload that was already transcoded
    first = transcode_upload(_record(), world.deps)

    # When the same record is delivered again
    second = transcode_upload(_record(), world.deps)

    # Then nothing more is done or published
    assert isinstance(first, VideoTranscoded)
    assert second is Skipped.DUPLICATE
    assert world.publisher.published == [first]
    assert len(world.media.probed) == 1
    assert len(world.media.transcoded) == 1
    assert len(world.storage.downloads) == 1


def test_a_new_etag_for_the_same_key_is_transcoded_again(world: World) -> None:
    # Given an upload that was already transcoded
    first = transcode_upload(_record(etag="etag-1"), world.deps)

    # When the same key is uploaded again with new content
    second = transcode_upload(_record(etag="etag-2"), world.deps)

    # Then it is transcoded again and announced under a new event id
    assert isinstance(second, VideoTranscoded)
    assert isinstance(first, VideoTranscoded) and second.event_id != first.event_id
    assert second.source.version == "etag-2"
    assert world.publisher.published == [first, second]
    assert len(world.media.transcoded) == 2
    assert world.storage.documents[MANIFEST]["source"]["version"] == "etag-2"


def test_a_rejected_probe_publishes_video_transcode_failed(tmp_path: Path) -> None:
    # Given an upload that is audio only
    world = _world(tmp_path, media=FakeMedia(_probe(audio_only=True)))

    # When it is transcoded
    outcome = transcode_upload(_record(), world.deps)

    # Then VideoTranscodeFailed is published with the reason, nothing is encoded, and no exception escapes
    assert isinstance(outcome, VideoTranscodeFailed)
    assert outcome.reason_code is FailureReason.NO_VIDEO_STREAM
    assert (outcome.video_id, outcome.owner, outcome.source.key) == ("vid00001", "alice", SOURCE_KEY)
    assert world.publisher.published == [outcome]
    assert world.media.transcoded == []
    assert world.storage.uploaded == {}
    # And the verdict is recorded, so a duplicate delivery is not re-examined
    assert world.storage.documents[MANIFEST]["event"]["reason_code"] == "NO_VIDEO_STREAM"
    assert transcode_upload(_record(), world.deps) is Skipped.DUPLICATE


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ("source: Invalid data found when processing input", FailureReason.UNREADABLE_MEDIA),
        ("Format hls is not on whitelist 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm'", FailureReason.UNSUPPORTED_CONTAINER),
    ],
    ids=["unreadable", "container-not-allowed"],
)
def test_a_probe_error_becomes_a_failure_reason(tmp_path: Path, detail: str, reason: FailureReason) -> None:
    # Given an upload ffprobe refuses
    world = _world(tmp_path, media=FakeMedia(probe_error=MediaToolError("ffprobe", detail)))

    # When it is transcoded
    outcome = transcode_upload(_record(), world.deps)

    # Then the failure is published with the matching reason and ffprobe's words
    assert isinstance(outcome, VideoTranscodeFailed)
    assert outcome.reason_code is reason
    assert outcome.reason == detail
    assert world.publisher.published == [outcome]


def test_an_empty_upload_fails_without_downloading(world: World) -> None:
    # Given a record of an empty object
    record = _record(size=0)

    # When it is transcoded
    outcome = transcode_upload(record, world.deps)

    # Then EMPTY_FILE is published and the object was never downloaded or probed
    assert isinstance(outcome, VideoTranscodeFailed)
    assert outcome.reason_code is FailureReason.EMPTY_FILE
    assert world.storage.downloads == []
    assert world.media.probed == []


def test_a_failed_publish_propagates_and_leaves_no_manifest(tmp_path: Path) -> None:
    # Given SNS that fails once
    world = _world(tmp_path, publisher=FakePublisher(failures=1))

    # When an upload is transcoded
    with pytest.raises(ConnectionError):
        transcode_upload(_record(), world.deps)

    # Then no manifest was written, so the retry does the work again and publishes
    assert MANIFEST not in world.storage.documents
    retried = transcode_upload(_record(), world.deps)
    assert isinstance(retried, VideoTranscoded)
    assert world.publisher.published == [retried]
    assert world.publisher.attempts[0].event_id == retried.event_id
    assert len(world.media.transcoded) == 2
    assert MANIFEST in world.storage.documents


SCENARIOS = {
    "success": dict,
    "rejected": lambda: {"media": FakeMedia(_probe(audio_only=True))},
    "encode failed": lambda: {
        "media": FakeMedia(_probe(), transcode_error=MediaToolError("ffmpeg", "Conversion failed!"))
    },
    "publish failed": lambda: {"publisher": FakePublisher(failures=1)},
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_work_folder_is_left_empty(tmp_path: Path, scenario: str) -> None:
    # Given a transcode that ends in this way
    world = _world(tmp_path, **SCENARIOS[scenario]())

    # When an upload is transcoded
    try:
        transcode_upload(_record(), world.deps)
    except ConnectionError:
        assert scenario == "publish failed"

    # Then the source was downloaded inside the work folder, and nothing is left there
    assert world.media.probed, "the media tool never saw the source"
    assert world.media.probed[0].is_relative_to(world.work_dir)
    assert list(world.work_dir.iterdir()) == []


def test_event_ids_are_stable_for_one_upload(tmp_path: Path) -> None:
    # Given the same record handled by two workers that share nothing
    one = _world(tmp_path / "one")
    two = _world(tmp_path / "two")

    # When each transcodes it
    first = transcode_upload(_record(), one.deps)
    second = transcode_upload(_record(), two.deps)

    # Then both announce it under the same event id, so consumers can tell it is one fact
    assert isinstance(first, VideoTranscoded) and isinstance(second, VideoTranscoded)
    assert first.event_id == second.event_id


def test_failure_event_ids_are_stable_for_one_upload(tmp_path: Path) -> None:
    # Given the same rejected record handled twice with fresh storage
    one = _world(tmp_path / "one", media=FakeMedia(_probe(audio_only=True)))
    two = _world(tmp_path / "two", media=FakeMedia(_probe(audio_only=True)))

    # When each transcodes it
    first = transcode_upload(_record(), one.deps)
    second = transcode_upload(_record(), two.deps)

    # Then the failure has the same event id both times
    assert isinstance(first, VideoTranscodeFailed) and isinstance(second, VideoTranscodeFailed)
    assert first.event_id == second.event_id


def test_an_upload_deleted_before_download_fails_as_source_missing(world: World) -> None:
    # Given a notification for an object that has since been deleted
    world.storage.objects.clear()

    # When it is transcoded
    outcome = transcode_upload(_record(), world.deps)

    # Then SOURCE_MISSING is published and nothing is probed
    assert isinstance(outcome, VideoTranscodeFailed)
    assert outcome.reason_code is FailureReason.SOURCE_MISSING
    assert world.publisher.published == [outcome]
    assert world.media.probed == []


def test_too_little_free_space_is_retried_not_failed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a work folder with 1 MiB free
    import shutil

    from transcode.logic import transcode as logic

    monkeypatch.setattr(logic.shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**9, 10**9 - 2**20, 2**20))

    # When an upload is transcoded
    with pytest.raises(logic.NotEnoughSpace):
        transcode_upload(_record(), world.deps)

    # Then nothing was downloaded or published, and no manifest marks it done (SQS retries it)
    assert world.storage.downloads == []
    assert world.publisher.published == []
    assert world.storage.read_json(*MANIFEST) is None


def test_the_upload_of_a_deleted_video_is_dropped_without_any_work(world: World) -> None:
    # Given a video deleted before its (late, or redriven) upload event is handled
    world.tombstones.mark("vid00001", deleted_at=STARTED, expires_at=STARTED + TOMBSTONE_LIFETIME)

    # When the upload event arrives
    result = transcode_upload(_record(), world.deps)

    # Then nothing is downloaded, encoded, written or published
    assert result is Skipped.DELETED
    assert world.storage.downloads == [] and world.media.transcoded == []
    assert world.storage.keys(OUTPUT_BUCKET) == set() and world.publisher.attempts == []


@pytest.mark.parametrize(("asked", "published"), [(2, False), (3, True)], ids=["while encoding", "after publishing"])
def test_a_video_deleted_while_it_is_transcoded_leaves_nothing_behind(
    world: World, asked: int, published: bool
) -> None:
    # Given the video is deleted while the transcoder works on it (seen at its 2nd or 3rd look at the tombstones)
    world.tombstones.delete_during = ("vid00001", asked)

    # When the transcode finishes
    result = transcode_upload(_record(), world.deps)

    # Then its work is dropped: nothing it wrote is left (renditions, poster, manifest)
    assert result is Skipped.DELETED
    assert world.media.transcoded, "the encode had happened"
    assert world.storage.keys(OUTPUT_BUCKET) == set()
    # And the outcome was not announced unless it already had been (the catalog's tombstone ignores it then)
    assert bool(world.publisher.published) is published


def test_a_deletion_marks_the_video_then_removes_its_files(world: World) -> None:
    # Given a transcoded video
    transcode_upload(_record(), world.deps)
    assert world.storage.keys(OUTPUT_BUCKET)
    deletion = DeletionDeps(world.storage, world.tombstones, OUTPUT_BUCKET, clock=lambda: STARTED)

    # When it is deleted (twice: a duplicate delivery)
    deleted = VideoDeleted(correlation_id="c", video_id="vid00001", owner="alice", source=None)
    removed, again = delete_outputs(deleted, deletion), delete_outputs(deleted, deletion)

    # Then its files are gone, and it is remembered as deleted past the DLQs' retention
    assert removed == 4 and again == 0
    assert world.storage.keys(OUTPUT_BUCKET) == set()
    assert world.tombstones.deleted["vid00001"] == (STARTED, STARTED + TOMBSTONE_LIFETIME)
    # And a redelivered upload of it does nothing
    assert transcode_upload(_record(etag="etag-2"), world.deps) is Skipped.DELETED
