"""The transcode workflow's tasks with fake ports: what each decides, writes and publishes."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import mediatools
from contracts import FailureReason, S3EventRecord, Upload, upload_of
from contracts.events import ChunkRef, VideoTranscoded, VideoTranscodeFailed, VideoTranscodeProgress
from contracts.keys import manifest_key
from contracts.media import Probe
from contracts.readable import failure_sentence
from mediatools import MediaToolError
from tests.media import make_clip
from tests.unit.fakes import FakeMedia, FakePublisher, FakeStorage, FakeTombstones, encode_every_chunk
from tests.unit.shapes import s3_record
from transcode.adapters.media import SourceInput, chunk_command
from transcode.logic import assembly, encoding, growing, workflow
from transcode.logic.chunking import Grid
from transcode.logic.ladder import Rendition
from transcode.logic.tasks import TaskMessage, run_task, task_failure
from transcode.logic.workflow import Plan, WorkflowConfig, WorkflowDeps

pytestmark = pytest.mark.service("transcode")

BUCKET = "transcoded"
SOURCE_KEY = "uploads/alice/vid00001/holiday clip.mp4"
STARTED = datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC)
GRID = Grid(segment_seconds=2, keyframe_seconds=2, chunk_seconds=4, thumbnail_seconds=10)


def _probe(*, seconds: float = 12.5, audio_only: bool = False) -> Probe:
    video = {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 1280, "height": 720}
    video |= {"avg_frame_rate": "25/1", "r_frame_rate": "25/1", "time_base": "1/12800", "duration": str(seconds)}
    audio = {"index": 1, "codec_type": "audio", "codec_name": "aac", "channels": 2}
    streams = [{**audio, "index": 0}] if audio_only else [video, audio]
    fmt = {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": str(seconds), "size": "1000"}
    return Probe.model_validate({"format": fmt, "streams": streams})


def _upload(etag: str = "etag-1", size: int | None = 1000) -> Upload:
    return upload_of(
        S3EventRecord.model_validate(s3_record("uploads/alice/vid00001/holiday+clip.mp4", etag=etag, size=size))
    )


@pytest.fixture(scope="module")
def chunk_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real fragmented MP4 chunk (1 s of 160x90), as the chunk encoder writes it, for the fakes to copy."""
    folder = tmp_path_factory.mktemp("chunk")
    clip = make_clip(folder / "clip.mp4", width=160, height=90, seconds=1, audio=False)
    chunk = ChunkRef(index=0, start_seconds=0, end_seconds=1)
    args, files = chunk_command(
        SourceInput(mediatools.local_input(clip), "mov"),
        chunk,
        [Rendition("90p", 160, 90, 800)],
        GRID,
        12800,
        folder,
        poster_at=None,
        preset="ultrafast",
    )
    mediatools.run("ffmpeg", args, timeout=60)
    return files.renditions["90p"]


@dataclass
class World:
    storage: FakeStorage
    publisher: FakePublisher
    media: FakeMedia
    tombstones: FakeTombstones
    deps: WorkflowDeps

    def plan(self, upload: Upload | None = None) -> Plan:
        result = encoding.plan(upload or _upload(), self.deps)
        assert result["status"] == "planned", result
        return Plan.model_validate(result["plan"])

    def run(self, upload: Upload | None = None) -> dict:
        """Every task in the order the state machine runs them, the way it routes on their results."""
        the_plan = self.plan(upload)
        assert all(r["status"] == "done" for r in encode_every_chunk(the_plan, self.deps))
        assert encoding.encode_audio(the_plan, self.deps)["status"] == "done"
        return assembly.assemble(the_plan, self.deps)


@pytest.fixture
def world(tmp_path: Path, chunk_file: Path) -> World:
    storage = FakeStorage({("uploads", SOURCE_KEY): "etag-1"})
    media = FakeMedia(_probe(), chunk_file=chunk_file)
    publisher, tombstones = FakePublisher(), FakeTombstones()
    config = WorkflowConfig(output_bucket=BUCKET, work_dir=tmp_path / "work", grid=GRID)
    deps = WorkflowDeps(storage, publisher, media, tombstones, config, clock=lambda: STARTED)
    return World(storage, publisher, media, tombstones, deps)


# --- plan


def test_the_plan_cuts_the_source_on_the_segment_grid_and_sizes_the_ladder(world: World) -> None:
    the_plan = world.plan()
    # one segment first (the start plays soonest), then twice as long up to chunk_seconds
    assert [(c.start_seconds, c.end_seconds) for c in the_plan.chunks] == [(0, 2), (2, 6), (6, 10), (10, 12.5)]
    assert [(r.name, r.width, r.height) for r in the_plan.rungs] == [("720p", 1280, 720), ("480p", 854, 480)]
    # the lowest rung over the whole video first (the growing stream), then the others
    assert the_plan.rounds == [["480p"], ["720p"]]
    assert [(w.round, w.chunk.index) for w in the_plan.work] == [(r, i) for r in (0, 1) for i in range(4)]
    # (the first one alone, before the Map of the others: it never waits behind another chunk)
    assert the_plan.first == the_plan.work[0] and the_plan.later == the_plan.work[1:]
    assert (the_plan.timescale, the_plan.demuxer, the_plan.has_audio) == (12800, "mov", True)
    assert the_plan.stream_prefix == f"videos/vid00001/stream/{workflow.tag_of(_upload())}/"
    # the source is read where it is (a signed URL), never downloaded by the plan
    assert world.media.probed == [world.storage.source_url(_upload())]


@pytest.mark.parametrize(
    ("probe", "reason"),
    [
        (_probe(seconds=5 * 3600), FailureReason.DURATION_TOO_LONG),
        (_probe(audio_only=True), FailureReason.NO_VIDEO_STREAM),
    ],
)
def test_the_gate_refuses_for_good(world: World, probe: Probe, reason: FailureReason) -> None:
    world.media._probe = probe
    result = encoding.plan(_upload(), world.deps)
    assert result == {
        "status": "failed",
        "failure": {"reason_code": reason.value, "detail": result["failure"]["detail"], "retryable": False},
    }


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ("Format hls is not on whitelist", FailureReason.UNSUPPORTED_CONTAINER),
        ("Invalid data", FailureReason.UNREADABLE_MEDIA),
    ],
)
def test_a_probe_error_is_a_reason(world: World, detail: str, reason: FailureReason) -> None:
    world.media._probe_error = MediaToolError("ffprobe", detail)
    assert encoding.plan(_upload(), world.deps)["failure"]["reason_code"] == reason.value


def test_an_empty_upload_fails_without_being_read(world: World) -> None:
    result = encoding.plan(_upload(size=0), world.deps)
    assert result["failure"]["reason_code"] == "EMPTY_FILE" and world.media.probed == []


def test_a_missing_source_fails_and_a_rewritten_one_is_skipped(world: World) -> None:
    assert encoding.plan(_upload(etag="etag-2"), world.deps) == {"status": "skipped", "reason": "SUPERSEDED"}
    del world.storage.sources[("uploads", SOURCE_KEY)]
    assert encoding.plan(_upload(), world.deps)["failure"]["reason_code"] == "SOURCE_MISSING"


def test_a_deleted_video_or_a_finished_upload_is_skipped(world: World) -> None:
    assert world.run()["status"] == "published"
    assert encoding.plan(_upload(), world.deps) == {"status": "skipped", "reason": "DUPLICATE"}
    world.tombstones.mark("vid00001", deleted_at=STARTED, expires_at=STARTED)
    assert encoding.plan(_upload(etag="etag-2"), world.deps) == {"status": "skipped", "reason": "DELETED"}


def test_one_execution_name_per_uploaded_version() -> None:
    one, again, other = (
        workflow.execution_name(_upload()),
        workflow.execution_name(_upload()),
        workflow.execution_name(_upload("etag-2")),
    )
    assert one == again != other and len(one) <= 80 and one.startswith("vid00001-")
    assert workflow.workflow_input(_upload()) == workflow.workflow_input(_upload())


# --- chunks and audio


def test_a_chunk_is_stored_placed_with_its_record_and_not_encoded_twice(world: World) -> None:
    the_plan = world.plan()
    chunk = the_plan.chunks[1]
    assert encoding.encode_chunk(the_plan, chunk, world.deps) == {"status": "done", "chunk": 1, "round": 0}
    assert encoding.encode_chunk(the_plan, chunk, world.deps, 1) == {"status": "done", "chunk": 1, "round": 1}
    for rung in ("720p", "480p"):
        data, content_type = world.storage.objects[(BUCKET, the_plan.chunk_key(rung, 1))]
        assert content_type == "video/mp4" and data[4:8] == b"ftyp"
    for round_index, rungs in enumerate(the_plan.rounds):
        record = world.storage.documents[(BUCKET, the_plan.piece_key(1, round_index))]
        assert record["chunk"] == chunk.model_dump(mode="json") and list(record["rungs"]) == rungs
    # done already (a retried or redriven task): nothing is encoded again
    assert encoding.encode_chunk(the_plan, chunk, world.deps)["again"] is False
    assert world.media.encoded == [1, 1] and world.media.rounds == [["480p"], ["720p"]]


def test_a_failed_encode_is_retryable_and_names_its_chunk(world: World) -> None:
    world.media.chunk_errors = {2: 1}
    the_plan = world.plan()
    result = encoding.encode_chunk(the_plan, the_plan.chunks[2], world.deps)
    assert result["status"] == "failed" and result["failure"]["retryable"] is True
    assert result["failure"]["chunk"] == {"index": 2, "start_seconds": 6.0, "end_seconds": 10.0}
    assert (BUCKET, the_plan.piece_key(2)) not in world.storage.documents  # no record: the retry encodes it
    assert encoding.encode_chunk(the_plan, the_plan.chunks[2], world.deps)["status"] == "done"


def test_progress_is_published_as_chunks_finish(world: World) -> None:
    the_plan = world.plan()
    encode_every_chunk(the_plan, world.deps)
    progress = [e for e in world.publisher.published if isinstance(e, VideoTranscodeProgress)]
    assert [(p.chunks_done, p.chunks_total) for p in progress] == [(n, 8) for n in range(1, 9)]
    shares = [p.progress for p in progress]
    assert shares == sorted(shares) and shares[-1] == 1.0 and len(set(shares)) == 8
    # by the work: round 0 (480p, a third of the pixels of both rungs) is 0.31 of the whole
    assert shares[3] == pytest.approx(854 * 480 / (854 * 480 + 1280 * 720), abs=1e-3)
    assert len({p.event_id for p in progress}) == 8


def test_a_progress_event_that_cannot_be_published_does_not_fail_the_chunk(world: World) -> None:
    the_plan = world.plan()
    world.publisher.failures = 1
    result = encoding.encode_chunk(the_plan, the_plan.chunks[0], world.deps)
    assert result == {"status": "done", "chunk": 0, "round": 0, "progress": "not published: ConnectionError"}


def test_the_audio_is_encoded_once_to_the_video_s_length(world: World) -> None:
    the_plan = world.plan()
    assert encoding.encode_audio(the_plan, world.deps) == {"status": "done", "audio": True}
    assert world.media.audio == [12.5]
    # in pieces of the chunks' time ranges, stored as they came, and then marked whole
    assert world.storage.documents[(BUCKET, the_plan.audio_done_key)]["pieces"] == 4
    for chunk in the_plan.chunks:
        data, content_type = world.storage.objects[(BUCKET, the_plan.audio_key(chunk.index))]
        assert content_type == "audio/mp4" and data[4:8] == b"ftyp"
        assert (BUCKET, the_plan.audio_piece_key(chunk.index)) in world.storage.documents
    assert encoding.encode_audio(the_plan, world.deps)["again"] is False
    assert world.media.audio == [12.5]


# --- assemble and publish


def test_assembly_publishes_video_transcoded_with_the_stream_then_the_manifest(world: World) -> None:
    result = world.run()
    [event] = [e for e in world.publisher.published if isinstance(e, VideoTranscoded)]
    assert result == {"status": "published", "event": "VideoTranscoded", "event_id": event.event_id}
    assert (event.chunks, event.schema_version, event.started_at) == (4, 2, STARTED)
    stream = event.stream
    assert [r.name for r in stream.renditions] == ["720p", "480p"] and stream.audio
    master = world.storage.objects[(BUCKET, stream.master)][0].decode()
    assert master.count("#EXT-X-STREAM-INF") == 2 and 'AUDIO="audio"' in master
    media_playlist = world.storage.objects[(BUCKET, stream.renditions[0].playlist)][0].decode()
    assert media_playlist.count("#EXT-X-BYTERANGE") >= 4 and media_playlist.endswith("#EXT-X-ENDLIST\n")
    assert [d.name for d in event.renditions] == ["720p", "480p"]  # small enough for MP4 downloads
    assert event.thumbnails and event.thumbnails.sprites and event.thumbnails.interval_seconds == 10
    manifest = world.storage.documents[(BUCKET, manifest_key("vid00001"))]
    assert manifest["event"]["event_id"] == event.event_id


def test_downloads_that_do_not_fit_are_left_out(world: World) -> None:
    world.deps.config = WorkflowConfig(
        output_bucket=BUCKET, work_dir=world.deps.config.work_dir, grid=GRID, download_max_bytes=1
    )
    world.run()
    [event] = [e for e in world.publisher.published if isinstance(e, VideoTranscoded)]
    assert event.renditions == [] and event.stream.renditions


def test_a_missing_chunk_fails_the_assembly_naming_it(world: World) -> None:
    the_plan = world.plan()
    for chunk in the_plan.chunks[:-1]:
        encoding.encode_chunk(the_plan, chunk, world.deps)
    result = assembly.assemble(the_plan, world.deps)
    assert result["status"] == "failed" and result["failure"]["chunk"]["index"] == 3
    assert not [e for e in world.publisher.published if isinstance(e, VideoTranscoded)]
    assert not [k for k in world.storage.keys(BUCKET) if k.endswith("master.m3u8")]


def test_a_failed_publish_leaves_no_manifest_and_the_retry_publishes_the_same_event(world: World) -> None:
    the_plan = world.plan()
    encode_every_chunk(the_plan, world.deps)
    encoding.encode_audio(the_plan, world.deps)
    world.publisher.failures = 1
    with pytest.raises(ConnectionError):
        assembly.assemble(the_plan, world.deps)
    assert (BUCKET, manifest_key("vid00001")) not in world.storage.documents
    assembly.assemble(the_plan, world.deps)
    first, second = [e for e in world.publisher.attempts if isinstance(e, VideoTranscoded)]
    assert first.event_id == second.event_id


def test_a_video_deleted_while_it_is_assembled_leaves_nothing_behind(world: World) -> None:
    the_plan = world.plan()
    encode_every_chunk(the_plan, world.deps)
    encoding.encode_audio(the_plan, world.deps)
    world.tombstones.mark("vid00001", deleted_at=STARTED, expires_at=STARTED)
    assert assembly.assemble(the_plan, world.deps) == {"status": "skipped", "reason": "DELETED"}
    assert not [k for k in world.storage.keys(BUCKET) if k.startswith("videos/vid00001/")]
    assert not [e for e in world.publisher.published if isinstance(e, VideoTranscoded)]


# --- failures


def test_a_chunk_that_gave_up_is_reported_with_its_chunk(world: World) -> None:
    # (the chunk's task answered Transcode.Retryable with its failure, 3 times; its Catch named the chunk)
    failure = {"reason_code": "TRANSCODE_FAILED", "detail": "Conversion failed!", "retryable": True}
    cause = {
        "chunk": {"index": 3, "start_seconds": 12, "end_seconds": 12.5},
        "error": {"Error": "Transcode.Retryable", "Cause": json.dumps(failure)},
    }
    message = TaskMessage(
        task="fail",
        token="t",
        input={
            "upload": _upload().model_dump(mode="json"),
            "error": {"Error": "ChunkFailed", "Cause": json.dumps(cause)},
        },
    )
    result = run_task(message, world.deps)
    assert result["status"] == "published"
    [event] = world.publisher.published
    assert isinstance(event, VideoTranscodeFailed) and event.reason_code == FailureReason.TRANSCODE_FAILED
    assert event.chunk == ChunkRef(index=3, start_seconds=12, end_seconds=12.5)
    # people read the code's sentence and the part of the video; ffmpeg's words go to the task's log line only
    assert event.reason == failure_sentence(FailureReason.TRANSCODE_FAILED, event.chunk)
    assert "from 0:12 to 0:13" in event.reason and "Conversion failed" not in event.reason
    logged = message.describe(result)
    assert logged["reason"] == "TRANSCODE_FAILED"
    assert logged["detail"].startswith("chunk 3 (12-12.5 s): Conversion failed!")


def test_a_chunk_that_timed_out_is_reported_with_its_chunk() -> None:
    cause = {
        "chunk": {"index": 1, "start_seconds": 4, "end_seconds": 8},
        "error": {"Error": "States.Timeout", "Cause": ""},
    }
    failure = assembly.failure_of({"Error": "ChunkFailed", "Cause": json.dumps(cause)})
    assert failure["chunk"]["index"] == 1 and failure["detail"].startswith("States.Timeout")
    # (a chunk that gave up before the workflow had its Retry said its last result)
    before = {"chunk": cause["chunk"], "result": {"Error": "States.Timeout", "Cause": ""}}
    assert assembly.failure_of({"Error": "ChunkFailed", "Cause": json.dumps(before)}) == failure
    assert assembly.failure_of({"Error": "TaskError", "Cause": "boom"}) == {
        "reason_code": "TRANSCODE_FAILED",
        "detail": "TaskError: boom",
    }
    assert assembly.failure_of(None)["reason_code"] == "TRANSCODE_FAILED"


def test_a_task_s_own_failure_reaches_the_report_as_it_was_said() -> None:
    # (the audio's, the plan's or the assembly's failure: its cause, through the Parallel's or the task's Catch)
    said = {"reason_code": "SOURCE_MISSING", "detail": "s3://u/k does not exist", "retryable": False}
    assert assembly.failure_of({"Error": "Transcode.Failed", "Cause": json.dumps(said)}) == said


@pytest.mark.parametrize(
    ("result", "answer"),
    [
        ({"status": "done", "chunk": 1}, None),
        ({"status": "skipped", "reason": "SUPERSEDED"}, None),
        ({"status": "published", "failure": {"reason_code": "TRANSCODE_FAILED"}}, None),  # the report's own result
        (workflow.failed(FailureReason.TRANSCODE_FAILED, "ffmpeg", retryable=True), "Transcode.Retryable"),
        (workflow.failed(FailureReason.SOURCE_MISSING, "gone", retryable=False), "Transcode.Failed"),
    ],
)
def test_a_failed_result_is_answered_as_the_task_s_failure(result: dict[str, Any], answer: str | None) -> None:
    failure = task_failure(result)
    if answer is None:
        assert failure is None
    else:
        assert failure is not None and failure[0] == answer
        assert json.loads(failure[1]) == result["failure"]  # the cause: what the report needs, as JSON


def test_an_unknown_task_is_an_error(world: World) -> None:
    with pytest.raises(ValueError, match="unknown task"):
        run_task(TaskMessage(task="dance", token="t", input={"plan": world.plan().model_dump(mode="json")}), world.deps)


def test_a_failed_upload_is_planned_again_so_a_rerun_can_finish_it(world: World) -> None:
    message = TaskMessage(
        task="fail",
        token="t",
        input={"upload": _upload().model_dump(mode="json"), "failure": {"reason_code": "TRANSCODE_FAILED"}},
    )
    run_task(message, world.deps)
    assert world.storage.documents[(BUCKET, manifest_key("vid00001"))]["event"]["event_type"] == "VideoTranscodeFailed"
    assert encoding.plan(_upload(), world.deps)["status"] == "planned"


def test_a_short_task_that_raises_is_tried_again_in_place_and_a_long_one_is_not(world: World) -> None:
    upload = _upload().model_dump(mode="json")
    world.publisher.failures = 2
    waits: list[float] = []
    failing = TaskMessage(
        task="fail", token="t", input={"upload": upload, "failure": {"reason_code": "TRANSCODE_FAILED"}}
    )
    assert run_task(failing, world.deps, sleep=waits.append)["status"] == "published"
    assert waits == [1, 4] and len(world.publisher.attempts) == 3
    # a chunk is retried by the state machine instead (with a new message): here it raises at once
    world.storage.fail_writes.add(world.plan().piece_key(0))
    chunk = TaskMessage(
        task="chunk",
        token="t",
        input={"plan": world.plan().model_dump(mode="json"), "chunk": world.plan().chunks[0].model_dump(mode="json")},
    )
    with pytest.raises(ConnectionError):
        run_task(chunk, world.deps, sleep=waits.append)
    assert waits == [1, 4]


@pytest.mark.parametrize(
    ("detail", "headers", "meant"),
    [
        ("Server returned 404 Not Found", None, "SourceMissing"),
        ("Server returned 4XX Client Error, but not one of 40{0,1,3,4}", 'If-Match: "e"\r\n', "SourceSuperseded"),
        ("Server returned 4XX Client Error, but not one of 40{0,1,3,4}", None, "MediaToolError"),
        ("moov atom not found; invalid data at offset 404 (412 bytes)", 'If-Match: "e"\r\n', "MediaToolError"),
    ],
)
def test_only_s3_s_own_answers_mean_a_missing_or_rewritten_source(detail: str, headers: str | None, meant: str) -> None:
    from transcode.adapters.media import source_error
    from transcode.logic.ports import SourceRef

    error = MediaToolError("ffmpeg", detail)
    assert type(source_error(error, SourceRef("https://s3/x", headers))).__name__ == meant


# --- the growing stream


def _text(world: World, key: str) -> str:
    return world.storage.objects[(BUCKET, key)][0].decode()


def _segments(playlist: str) -> list[str]:
    """A media playlist's segment entries (duration, byte range, file), in order."""
    lines = playlist.splitlines()
    return [f"{lines[i - 2]} {lines[i - 1]} {line}" for i, line in enumerate(lines) if line.startswith(("c", "a"))]


def test_the_start_plays_as_soon_as_the_first_chunk_and_the_audio_beside_it_are_stored(world: World) -> None:
    the_plan = world.plan()
    low, audio = the_plan.playlist_key("480p"), the_plan.playlist_key("audio")
    # Given the audio stored (in pieces of the chunks' ranges) before any picture: nothing plays yet
    encoding.encode_audio(the_plan, world.deps)
    assert (BUCKET, the_plan.master_key) not in world.storage.objects
    # When round 0 encodes the chunks one by one, the lowest rung's playlist grows over them, as an EVENT
    # playlist (only ever lengthened), and the master names only that rung
    seen: list[list[str]] = []
    for item in the_plan.work[:4]:
        result = encoding.encode_chunk(the_plan, item.chunk, world.deps, item.round)
        assert result["playable_seconds"] > 0
        playlist = _text(world, low)
        assert "#EXT-X-PLAYLIST-TYPE:EVENT" in playlist and "#EXT-X-ENDLIST" not in playlist
        assert "#EXT-X-START:TIME-OFFSET=0" in playlist  # a player starts at the start, not at the growing end
        seen.append(_segments(playlist))
        master = _text(world, the_plan.master_key)
        assert master.count("#EXT-X-STREAM-INF") == 1 and "480p/index.m3u8" in master and "720p" not in master
        assert "#EXT-X-ENDLIST" not in _text(world, audio)
    assert [len(s) for s in seen] == sorted(len(s) for s in seen) and len(seen[-1]) > len(seen[0])
    assert all(later[: len(earlier)] == earlier for earlier, later in itertools.pairwise(seen))
    progress = [e for e in world.publisher.published if isinstance(e, VideoTranscodeProgress) and e.playable]
    assert [p.playable.seconds for p in progress if p.playable] == sorted(
        p.playable.seconds for p in progress if p.playable
    )
    # When round 1 and the assembly finish, the same keys are the finished stream: every rung, VOD, and every
    # segment a player fetched early is where it was
    for item in the_plan.work[4:]:
        encoding.encode_chunk(the_plan, item.chunk, world.deps, item.round)
    assert _segments(_text(world, low)) == seen[-1]  # round 1 changes nothing of the growing stream
    assert assembly.assemble(the_plan, world.deps)["status"] == "published"
    final = _text(world, low)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in final and final.endswith("#EXT-X-ENDLIST\n")
    assert _segments(final) == seen[-1]
    assert _text(world, the_plan.master_key).count("#EXT-X-STREAM-INF") == 2


def test_a_writer_that_comes_after_the_finished_stream_puts_the_finished_playlists_back(world: World) -> None:
    # Given a finished stream
    the_plan = world.plan()
    encoding.encode_audio(the_plan, world.deps)
    encode_every_chunk(the_plan, world.deps)
    assembly.assemble(the_plan, world.deps)
    finished = {key: _text(world, key) for key in (the_plan.master_key, the_plan.playlist_key("480p"))}
    # When a task that outlived its timeout publishes the growing stream again
    assert growing.publish(the_plan, world.deps) is None
    # Then the playlists are the finished ones
    assert {key: _text(world, key) for key in finished} == finished


def test_a_writer_whose_listing_went_stale_while_it_wrote_writes_again(world: World) -> None:
    # Given the audio and the first two chunks of round 0 stored, and a third one stored while the writer writes
    the_plan = world.plan()
    encoding.encode_audio(the_plan, world.deps)
    for item in the_plan.work[:3]:
        encoding.encode_chunk(the_plan, item.chunk, world.deps, item.round)
    third = world.storage.documents.pop((BUCKET, the_plan.piece_key(2)))
    writes = world.storage.put_text

    def put_text(bucket: str, key: str, text: str, content_type: str) -> None:
        writes(bucket, key, text, content_type)
        world.storage.documents[(BUCKET, the_plan.piece_key(2))] = third  # (another task stores it meanwhile)

    world.storage.put_text = put_text  # type: ignore[method-assign]
    # When it publishes
    growing.publish(the_plan, world.deps)
    # Then its last write has the third chunk too
    assert len(_segments(_text(world, the_plan.playlist_key("480p")))) == 3


def test_a_writer_reads_only_the_records_that_are_new_or_written_again(world: World) -> None:
    # Given the audio and the first three chunks of round 0 stored, each extending the stream
    the_plan = world.plan()
    encoding.encode_audio(the_plan, world.deps)
    for item in the_plan.work[:3]:
        encoding.encode_chunk(the_plan, item.chunk, world.deps, item.round)
    reads: list[str] = []
    read_json = world.storage.read_json

    def counted(bucket: str, key: str) -> dict[str, Any] | None:
        reads.append(key)
        return read_json(bucket, key)

    world.storage.read_json = counted  # type: ignore[method-assign]
    records = {the_plan.piece_key(i) for i in range(4)} | {the_plan.audio_piece_key(i) for i in range(4)}
    # When the fourth chunk extends it
    encoding.encode_chunk(the_plan, the_plan.work[3].chunk, world.deps, the_plan.work[3].round)
    # Then of the records it read only the fourth chunk's (and the fourth audio piece's), not the prefix again
    assert sorted(set(reads) & records) == [the_plan.audio_piece_key(3), the_plan.piece_key(3)]
    assert len(_segments(_text(world, the_plan.playlist_key("480p")))) == 4
    # And a record written again (another try of a chunk) is read again, by its changed ETag
    reads.clear()
    again = read_json(BUCKET, the_plan.piece_key(1)) or {}
    world.storage.write_json(BUCKET, the_plan.piece_key(1), again | {"seconds": 99.0})
    growing.publish(the_plan, world.deps)
    assert sorted(set(reads) & records) == [the_plan.piece_key(1)]


def test_round_1_encodes_in_the_background_so_that_round_0_gets_shared_cores_first(world: World) -> None:
    # Given the growing stream's plan: round 0 (the lowest rung) then round 1 (the others)
    the_plan = world.plan()
    # When every item is encoded
    encode_every_chunk(the_plan, world.deps)
    # Then round 1's encodes yield the cores (a lower CPU priority), round 0's do not
    rounds = [item.round for item in the_plan.work]
    assert world.media.background == [r == 1 for r in rounds] and 0 in rounds and 1 in rounds


def test_a_running_chunk_reports_progress_from_ffmpeg_at_most_every_few_seconds(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    the_plan = world.plan()
    clock = iter([0.0, 2.0, 6.0, 7.0, 12.0])
    monkeypatch.setattr(encoding.time, "monotonic", lambda: next(clock))
    progress = encoding.Progress(the_plan, the_plan.work[5], world.deps)  # chunk 1 (2-6 s) of round 1, 720p
    for frames in (25, 50, 75, 100):  # at 2, 6, 7 and 12 s (25 fps): 1, 2, 3 and 4 s of the chunk
        progress.encoded(frames, 0.0)
    reports = [e for e in world.publisher.published if isinstance(e, VideoTranscodeProgress)]
    assert len(reports) == 2  # at 6 s and at 12 s; 2 s and 7 s were too soon after the last
    shares = [r.progress for r in reports]
    weight = the_plan.weight(the_plan.work[5]) / sum(the_plan.weight(w) for w in the_plan.work)
    assert shares == [pytest.approx(0.5 * weight, abs=1e-4), pytest.approx(1.0 * weight, abs=1e-4)]


def test_the_growing_stream_can_be_turned_off_for_the_old_path(world: World) -> None:
    world.deps.config = WorkflowConfig(
        output_bucket=BUCKET, work_dir=world.deps.config.work_dir, grid=GRID, early_stream=False
    )
    the_plan = world.plan()
    assert [(c.start_seconds, c.end_seconds) for c in the_plan.chunks] == [(0, 4), (4, 8), (8, 12), (12, 12.5)]
    assert the_plan.rounds == [["720p", "480p"]] and len(the_plan.work) == 4 and not the_plan.growing
    assert the_plan.first is None and the_plan.later == the_plan.work
    encoding.encode_audio(the_plan, world.deps)
    encode_every_chunk(the_plan, world.deps)
    assert (BUCKET, the_plan.master_key) not in world.storage.objects
    assert world.media.background == [False] * 4  # one round: nothing to put first
    assert world.run()["status"] == "published"


def test_the_audio_is_stored_even_when_its_progress_cannot_be_told(world: World) -> None:
    # Given the first chunk stored, so that each audio piece extends the growing stream and reports it
    the_plan = world.plan()
    encoding.encode_chunk(the_plan, the_plan.chunks[0], world.deps)
    world.publisher.failures = 100  # (SNS down for good)
    # When the audio is encoded, its work is done all the same: the progress is advisory
    assert encoding.encode_audio(the_plan, world.deps) == {"status": "done", "audio": True}
    assert world.storage.documents[(BUCKET, the_plan.audio_done_key)]["pieces"] == 4
