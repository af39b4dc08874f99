"""The transcode workflow's steps: what each task of the state machine does, one function per task.

The state machine (services/transcode/serverless.yml) runs them in order:

    start ─▶ plan ─▶ ┬─ chunk x N (a Map, in parallel) ─┬─▶ assemble   (publishes VideoTranscoded)
                     └─ audio (once, beside them) ──────┘
             any step that fails for good ─▶ fail (publishes VideoTranscodeFailed, names the chunk)

Each task gets its input as the state machine passes it and returns a small JSON result
the state machine routes on by its `status`: `done` (or `planned`, `published`),
`skipped` (with the `reason`) or `failed` (with the `failure`, whose `retryable` says
whether the state machine should try again). A task never raises for a
failure it understands; an exception means a fault of the worker itself, which the state
machine's timeout catches and retries.

Every output key is deterministic, under the video's folder and a tag of the upload's
version, so a retried or redriven task overwrites instead of duplicating, and two
versions of one key never mix. A chunk whose output is complete is not encoded again.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts import FailureReason, PosterFile, RenditionFile, Upload, stable_event_id
from contracts.events import (
    ChunkRef,
    StreamPackage,
    StreamRendition,
    Thumbnails,
    VideoTranscoded,
    VideoTranscodeFailed,
    VideoTranscodeProgress,
    utc_now,
)
from contracts.keys import manifest_key, poster_key, rendition_key, video_prefix
from mediatools import MediaToolError
from transcode.logic import fmp4, hls
from transcode.logic.chunking import Grid, plan_chunks, timescale
from transcode.logic.gate import GateLimits, Rejected, check_size, inspect
from transcode.logic.ladder import Rendition, plan_ladder, poster_time, thumbnail_size
from transcode.logic.ports import MediaTool, Publisher, SourceMissing, SourceSuperseded, Storage, Tombstones

SPRITE_COLUMNS = 10
SPRITE_ROWS = 10
PROGRESS_STEPS = 20  # at most this many progress events per video
_THUMBNAIL = re.compile(r"t\d{5}\.jpg")


# --- What travels between the steps -------------------------------------------------------------------


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rung(_Step):
    name: str
    width: int
    height: int
    max_video_kbps: int

    def rendition(self) -> Rendition:
        return Rendition(self.name, self.width, self.height, self.max_video_kbps)


class Plan(_Step):
    """What the plan step decided; every later step works from it."""

    upload: Upload
    tag: str  # the folder of this version's stream, under the video's
    demuxer: str
    width: int
    height: int
    video_seconds: float
    frame_rate: float | None
    timescale: int
    has_audio: bool
    rungs: list[Rung]
    chunks: list[ChunkRef]
    segment_seconds: int
    keyframe_seconds: int
    chunk_seconds: int
    thumbnail_seconds: int
    poster_at: float
    retry_seconds: list[int]  # the wait before each retry of a failed chunk or audio encode
    concurrency: int  # chunks encoded at once (the Map's MaxConcurrencyPath)
    started_at: datetime
    planned_at: datetime

    @property
    def grid(self) -> Grid:
        return Grid(self.segment_seconds, self.keyframe_seconds, self.chunk_seconds, self.thumbnail_seconds)

    @property
    def stream_prefix(self) -> str:
        return f"{video_prefix(self.upload.video_id)}stream/{self.tag}/"

    def chunk_key(self, rung: str, index: int) -> str:
        return f"{self.stream_prefix}{rung}/c{index:05d}.mp4"

    def piece_key(self, index: int) -> str:
        """The chunk's record of what it wrote (segments per rung): written last, so it means complete."""
        return f"{self.stream_prefix}pieces/c{index:05d}.json"

    def thumbnail_key(self, number: int) -> str:
        return f"{self.stream_prefix}thumbs/t{number:05d}.jpg"

    @property
    def audio_key(self) -> str:
        return f"{self.stream_prefix}audio/audio.mp4"

    @property
    def audio_piece_key(self) -> str:
        return f"{self.stream_prefix}audio/piece.json"


@dataclass(frozen=True)
class WorkflowConfig:
    output_bucket: str
    work_dir: Path
    limits: GateLimits = field(default_factory=GateLimits)
    grid: Grid = field(default_factory=Grid)
    download_max_bytes: int = 2 * 1024**3  # an MP4 download per rung up to this size (it is built in /tmp)
    retry_seconds: tuple[int, ...] = (5, 30)  # a failed chunk is tried len + 1 times
    chunk_concurrency: int = 40


@dataclass
class WorkflowDeps:
    storage: Storage
    publisher: Publisher
    media: MediaTool
    tombstones: Tombstones
    config: WorkflowConfig
    clock: Callable[[], datetime] = utc_now


def tag_of(upload: Upload) -> str:
    """A short, stable name for one version of one upload (also the execution's name suffix)."""
    return hashlib.sha256(upload.identity.encode()).hexdigest()[:15]


def execution_name(upload: Upload) -> str:
    """One execution per uploaded object version: a duplicate start finds it already exists (at most 80 characters)."""
    return f"{upload.video_id}-{tag_of(upload)}"


def _about(upload: Upload) -> dict[str, Any]:
    """The fields every event the workflow publishes takes from its upload."""
    return {
        "video_id": upload.video_id,
        "owner": upload.owner,
        "source": upload.source,
        "correlation_id": upload.correlation_id,
    }


def workflow_input(upload: Upload) -> dict[str, Any]:
    """The execution's input: the upload, as every delivery of it reads (so a duplicate start is recognised)."""
    return {"upload": upload.model_dump(mode="json")}


def _failed(reason: FailureReason, detail: str, *, retryable: bool, chunk: ChunkRef | None = None) -> dict[str, Any]:
    failure: dict[str, Any] = {"reason_code": reason.value, "detail": detail[:1500], "retryable": retryable}
    if chunk is not None:
        failure["chunk"] = chunk.model_dump(mode="json")
    return {"status": "failed", "failure": failure}


@contextmanager
def _work_dir(config: WorkflowConfig, prefix: str) -> Iterator[Path]:
    config.work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=config.work_dir) as folder:
        yield Path(folder)


# --- plan ----------------------------------------------------------------------------------------------


def plan(upload: Upload, deps: WorkflowDeps, *, started_at: datetime | None = None) -> dict[str, Any]:
    """The gate, the ladder and the chunks; or why there is nothing to do."""
    config, storage, begun = deps.config, deps.storage, deps.clock()
    done = storage.read_json(config.output_bucket, manifest_key(upload.video_id))
    if done and done.get("source") == upload.source.model_dump(mode="json") and _succeeded(done):
        return {"status": "skipped", "reason": "DUPLICATE"}  # (a failed one is planned again: a rerun may fix it)
    if deps.tombstones.marked(upload.video_id):
        return {"status": "skipped", "reason": "DELETED"}
    try:
        check_size(upload.size, config.limits)
        source = storage.source_url(upload)
        check_size(source.size, config.limits)  # the object's own size: the event's may be wrong or missing
        try:
            probe = deps.media.probe(source)
        except MediaToolError as exc:
            reason = (
                FailureReason.UNSUPPORTED_CONTAINER if exc.not_allowed_container else FailureReason.UNREADABLE_MEDIA
            )
            raise Rejected(reason, exc.detail) from None
        accepted = inspect(probe, config.limits)
    except SourceSuperseded:
        return {"status": "skipped", "reason": "SUPERSEDED"}
    except SourceMissing as exc:
        return _failed(FailureReason.SOURCE_MISSING, str(exc), retryable=False)
    except Rejected as rejected:
        return _failed(rejected.reason, rejected.detail, retryable=False)
    video = probe.video
    seconds = min(accepted.duration, float(video.duration) if video and video.duration else accepted.duration)
    grid = config.grid
    the_plan = Plan(
        upload=upload,
        tag=tag_of(upload),
        demuxer=accepted.demuxer,
        width=accepted.width,
        height=accepted.height,
        video_seconds=seconds,
        frame_rate=accepted.fps,
        timescale=timescale(video.time_base if video else None),
        has_audio=accepted.has_audio,
        rungs=[Rung(**vars(r)) for r in plan_ladder(accepted.width, accepted.height)],
        chunks=plan_chunks(seconds, grid),
        segment_seconds=grid.segment_seconds,
        keyframe_seconds=grid.keyframe_seconds,
        chunk_seconds=grid.chunk_seconds,
        thumbnail_seconds=grid.thumbnail_seconds,
        poster_at=poster_time(seconds),
        retry_seconds=list(config.retry_seconds),
        concurrency=config.chunk_concurrency,
        started_at=started_at or begun,
        planned_at=deps.clock(),
    )
    return {"status": "planned", "plan": the_plan.model_dump(mode="json")}


def _succeeded(manifest: dict[str, Any]) -> bool:
    event = manifest.get("event")
    return isinstance(event, dict) and event.get("event_type") == "VideoTranscoded"


# --- chunk ---------------------------------------------------------------------------------------------


def _chunk_done(the_plan: Plan, index: int, storage: Storage, bucket: str) -> bool:
    return storage.read_json(bucket, the_plan.piece_key(index)) is not None


def encode_chunk(the_plan: Plan, chunk: ChunkRef, deps: WorkflowDeps) -> dict[str, Any]:
    """Encode one chunk in every rung (decoding it once), place it on the timeline, store it and its record."""
    config, storage = deps.config, deps.storage
    if _chunk_done(the_plan, chunk.index, storage, config.output_bucket):
        return {"status": "done", "chunk": chunk.index, "again": False}
    started = time.perf_counter()
    try:
        source = storage.source_url(the_plan.upload)
        with _work_dir(config, f"chunk-{chunk.index}-") as work:
            files = deps.media.encode_chunk(
                source,
                the_plan.demuxer,
                chunk,
                [r.rendition() for r in the_plan.rungs],
                the_plan.grid,
                the_plan.timescale,
                work,
                poster_at=the_plan.poster_at if chunk.index == 0 else None,
            )
            record: dict[str, Any] = {"chunk": chunk.model_dump(mode="json"), "rungs": {}}
            for rung in the_plan.rungs:
                placed = fmp4.place(files.renditions[rung.name].read_bytes())
                key = the_plan.chunk_key(rung.name, chunk.index)
                piece = hls.piece(key.rsplit("/", 1)[-1], fmp4.layout(placed), the_plan.segment_seconds)
                storage.put_bytes(config.output_bucket, key, bytes(placed), "video/mp4")
                record["rungs"][rung.name] = _piece_json(piece) | {"codec": fmp4.avc_codec(placed)}
            for number, path in files.thumbnails.items():
                if path.is_file():
                    storage.upload(path, config.output_bucket, the_plan.thumbnail_key(number), "image/jpeg")
            if files.poster is not None:
                storage.upload(files.poster, config.output_bucket, poster_key(the_plan.upload.video_id), "image/jpeg")
    except SourceSuperseded:
        return {"status": "skipped", "reason": "SUPERSEDED"}
    except SourceMissing as exc:
        return _failed(FailureReason.SOURCE_MISSING, str(exc), retryable=False, chunk=chunk)
    except (MediaToolError, fmp4.Fmp4Error) as exc:
        detail = exc.detail if isinstance(exc, MediaToolError) else str(exc)
        return _failed(FailureReason.TRANSCODE_FAILED, detail, retryable=True, chunk=chunk)
    record["seconds"] = round(time.perf_counter() - started, 3)
    storage.write_json(config.output_bucket, the_plan.piece_key(chunk.index), record)
    result: dict[str, Any] = {"status": "done", "chunk": chunk.index}
    try:
        _report_progress(the_plan, deps)
    except Exception as exc:  # progress is advisory: the chunk is done, and the next one reports again
        result["progress"] = f"not published: {type(exc).__name__}"
    return result


def _piece_json(piece: hls.Piece) -> dict[str, Any]:
    return {
        "uri": piece.uri,
        "timescale": piece.timescale,
        "init_length": piece.init_length,
        "sample_entry": piece.sample_entry,
        "segments": [[s.offset, s.length, s.ticks] for s in piece.segments],
    }


def _piece_of(document: dict[str, Any]) -> hls.Piece:
    uri = document["uri"]
    return hls.Piece(
        uri=uri,
        timescale=document["timescale"],
        init_length=document["init_length"],
        sample_entry=document["sample_entry"],
        segments=tuple(hls.Segment(uri, offset, length, ticks) for offset, length, ticks in document["segments"]),
    )


def _report_progress(the_plan: Plan, deps: WorkflowDeps) -> None:
    """Publish how many chunks are done, at most PROGRESS_STEPS times per video (and always at the end)."""
    total = len(the_plan.chunks)
    done = len(deps.storage.list_keys(deps.config.output_bucket, f"{the_plan.stream_prefix}pieces/"))
    step = max(1, math.ceil(total / PROGRESS_STEPS))
    if done % step and done != total:
        return
    upload = the_plan.upload
    deps.publisher.publish(
        VideoTranscodeProgress(
            event_id=stable_event_id("VideoTranscodeProgress", upload.identity, str(done)),
            **_about(upload),
            chunks_done=min(done, total),
            chunks_total=total,
        )
    )


# --- audio ---------------------------------------------------------------------------------------------


def encode_audio(the_plan: Plan, deps: WorkflowDeps) -> dict[str, Any]:
    """The source's whole audio track, encoded once, beside the chunks."""
    config, storage = deps.config, deps.storage
    if not the_plan.has_audio:
        return {"status": "done", "audio": False}
    if storage.read_json(config.output_bucket, the_plan.audio_piece_key) is not None:
        return {"status": "done", "audio": True, "again": False}  # a rerun does only the missing work
    try:
        source = storage.source_url(the_plan.upload)
        with _work_dir(config, "audio-") as work:
            out = work / "audio.mp4"
            deps.media.encode_audio(source, the_plan.demuxer, out, video_seconds=the_plan.video_seconds)
            piece = hls.piece("audio.mp4", fmp4.layout(out.read_bytes()), the_plan.segment_seconds)
            storage.upload(out, config.output_bucket, the_plan.audio_key, "audio/mp4")
            storage.write_json(config.output_bucket, the_plan.audio_piece_key, _piece_json(piece))
    except SourceSuperseded:
        return {"status": "skipped", "reason": "SUPERSEDED"}
    except SourceMissing as exc:
        return _failed(FailureReason.SOURCE_MISSING, str(exc), retryable=False)
    except (MediaToolError, fmp4.Fmp4Error) as exc:
        detail = exc.detail if isinstance(exc, MediaToolError) else str(exc)
        return _failed(FailureReason.TRANSCODE_FAILED, f"audio: {detail}", retryable=True)
    return {"status": "done", "audio": True}


# --- assemble ------------------------------------------------------------------------------------------


def assemble(the_plan: Plan, deps: WorkflowDeps) -> dict[str, Any]:
    """Playlists over the stored chunks, MP4 downloads where they fit, the thumbnail sprites; then publish."""
    config, storage, upload = deps.config, deps.storage, the_plan.upload
    bucket, prefix = config.output_bucket, the_plan.stream_prefix
    assembling = deps.clock()
    timings: dict[str, float] = {
        "plan": _seconds(the_plan.started_at, the_plan.planned_at),
        "encode": _seconds(the_plan.planned_at, assembling),
    }
    tick = time.perf_counter()
    found = [storage.read_json(bucket, the_plan.piece_key(c.index)) for c in the_plan.chunks]
    missing = [c for c, r in zip(the_plan.chunks, found, strict=True) if r is None]
    if missing:
        return _failed(
            FailureReason.TRANSCODE_FAILED, "the chunk's output is missing", retryable=False, chunk=missing[0]
        )
    records = [r for r in found if r is not None]
    chunk_seconds = [r["seconds"] for r in records]
    timings["encode_chunk_max"] = max(chunk_seconds)
    timings["encode_chunk_total"] = round(sum(chunk_seconds), 3)
    audio_piece = None
    if the_plan.has_audio:
        audio_record = storage.read_json(bucket, the_plan.audio_piece_key)
        if audio_record is None:
            return _failed(FailureReason.TRANSCODE_FAILED, "the audio's output is missing", retryable=False)
        audio_piece = _piece_of(audio_record)
        storage.put_text(bucket, f"{prefix}audio/index.m3u8", hls.media_playlist([audio_piece]), hls.CONTENT_TYPE)
    audio_peak, audio_average = hls.bandwidth([audio_piece]) if audio_piece else (0, 0)
    rungs: list[StreamRendition] = []
    variants: list[hls.Variant] = []
    pieces_by_rung: dict[str, list[hls.Piece]] = {}
    try:
        for rung in the_plan.rungs:
            pieces = [_piece_of(r["rungs"][rung.name]) for r in records]
            pieces_by_rung[rung.name] = pieces
            playlist_key = f"{prefix}{rung.name}/index.m3u8"
            storage.put_text(bucket, playlist_key, hls.media_playlist(pieces), hls.CONTENT_TYPE)
            peak, average = hls.bandwidth(pieces)
            codecs = records[0]["rungs"][rung.name]["codec"] + (f",{hls.AUDIO_CODEC}" if audio_piece else "")
            variant = hls.Variant(
                f"{rung.name}/index.m3u8",
                rung.width,
                rung.height,
                peak + audio_peak,
                average + audio_average,
                codecs,
                the_plan.frame_rate,
            )
            variants.append(variant)
            rungs.append(
                StreamRendition(
                    name=rung.name,
                    width=rung.width,
                    height=rung.height,
                    playlist=playlist_key,
                    bandwidth=variant.bandwidth,
                    average_bandwidth=variant.average_bandwidth,
                    codecs=codecs,
                    frame_rate=the_plan.frame_rate,
                )
            )
    except hls.MismatchedPieces as exc:
        return _failed(FailureReason.TRANSCODE_FAILED, str(exc), retryable=False)
    master_key = f"{prefix}master.m3u8"
    storage.put_text(
        bucket, master_key, hls.master_playlist(variants, "audio/index.m3u8" if audio_piece else None), hls.CONTENT_TYPE
    )
    timings["playlists"] = round(time.perf_counter() - tick, 3)

    tick = time.perf_counter()
    try:
        downloads = _downloads(the_plan, pieces_by_rung, audio_piece, deps)
    except MediaToolError as exc:
        return _failed(FailureReason.TRANSCODE_FAILED, f"MP4 download: {exc.detail}", retryable=True)
    timings["downloads"] = round(time.perf_counter() - tick, 3)
    tick = time.perf_counter()
    thumbnails = _thumbnails(the_plan, deps)
    timings["thumbnails"] = round(time.perf_counter() - tick, 3)

    top = the_plan.rungs[0]
    poster_size = storage.size(bucket, poster_key(upload.video_id))
    event = VideoTranscoded(
        event_id=stable_event_id("VideoTranscoded", upload.identity),
        **_about(upload),
        duration_seconds=round(the_plan.video_seconds, 3),
        stream=StreamPackage(
            bucket=bucket,
            master=master_key,
            renditions=rungs,
            audio=f"{prefix}audio/index.m3u8" if audio_piece else None,
            segment_seconds=the_plan.segment_seconds,
            duration_seconds=round(hls.duration(pieces_by_rung[top.name]), 3),
        ),
        renditions=downloads,
        poster=PosterFile(
            bucket=bucket, key=poster_key(upload.video_id), width=top.width, height=top.height, size_bytes=poster_size
        ),
        thumbnails=thumbnails,
        chunks=len(the_plan.chunks),
        started_at=the_plan.started_at,
        timings=timings
        | {"assemble": _seconds(assembling, deps.clock()), "total": _seconds(the_plan.started_at, deps.clock())},
    )
    return _publish_once(event, deps)


def _seconds(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds(), 3)


def _downloads(
    the_plan: Plan, pieces: dict[str, list[hls.Piece]], audio: hls.Piece | None, deps: WorkflowDeps
) -> list[RenditionFile]:
    """An MP4 per rung whose size (video and audio) fits the download limit: built from the stored chunks."""
    config, storage = deps.config, deps.storage
    files = []
    for rung in the_plan.rungs:
        size = sum(p.size for p in pieces[rung.name]) + (audio.size if audio else 0)
        if size > config.download_max_bytes:
            continue
        with _work_dir(config, f"download-{rung.name}-") as work:
            video_files = []
            for chunk in the_plan.chunks:
                path = work / f"c{chunk.index:05d}.mp4"
                storage.download(config.output_bucket, the_plan.chunk_key(rung.name, chunk.index), path)
                video_files.append(path)
            audio_file = None
            if audio:
                audio_file = work / "audio.mp4"
                storage.download(config.output_bucket, the_plan.audio_key, audio_file)
            (work / "video.m3u8").write_text(hls.media_playlist(pieces[rung.name]))
            if audio:
                (work / "audio.m3u8").write_text(hls.media_playlist([audio]))
            out = work / "download.mp4"
            deps.media.join_download(work / "video.m3u8", work / "audio.m3u8" if audio_file else None, out)
            key = rendition_key(the_plan.upload.video_id, rung.name)
            storage.upload(out, config.output_bucket, key, "video/mp4")
            files.append(
                RenditionFile(
                    name=rung.name,
                    bucket=config.output_bucket,
                    key=key,
                    width=rung.width,
                    height=rung.height,
                    size_bytes=out.stat().st_size,
                )
            )
    return files


def _thumbnails(the_plan: Plan, deps: WorkflowDeps) -> Thumbnails | None:
    """Sprite sheets of the chunks' thumbnails and the WebVTT track over them."""
    config, storage = deps.config, deps.storage
    listed = storage.list_keys(config.output_bucket, f"{the_plan.stream_prefix}thumbs/")
    keys = sorted(k for k in listed if _THUMBNAIL.fullmatch(k.rsplit("/", 1)[-1]))
    if not keys:
        return None
    per_sheet = SPRITE_COLUMNS * SPRITE_ROWS
    interval = the_plan.thumbnail_seconds
    numbers = [int(key.rsplit("/t", 1)[-1].removesuffix(".jpg")) for key in keys]
    cues: list[hls.Cue] = []
    sprites: list[str] = []
    size = thumbnail_size(the_plan.rungs[0].width, the_plan.rungs[0].height)
    with _work_dir(config, "thumbnails-") as work:
        for sheet, first in enumerate(range(0, len(keys), per_sheet)):
            images = []
            for key in keys[first : first + per_sheet]:
                path = work / key.rsplit("/", 1)[-1]
                storage.download(config.output_bucket, key, path)
                images.append(path)
            out = work / f"sprite-{sheet:03d}.jpg"
            deps.media.sprite(images, SPRITE_COLUMNS, out)
            sprite_key = f"{the_plan.stream_prefix}thumbs/sprite-{sheet:03d}.jpg"
            storage.upload(out, config.output_bucket, sprite_key, "image/jpeg")
            sprites.append(sprite_key)
            for position, number in enumerate(numbers[first : first + per_sheet]):
                start = number * interval
                cues.append(
                    hls.Cue(
                        start=start,
                        end=min(start + interval, the_plan.video_seconds),
                        image=sprite_key.rsplit("/", 1)[-1],
                        x=(position % SPRITE_COLUMNS) * size[0],
                        y=(position // SPRITE_COLUMNS) * size[1],
                        width=size[0],
                        height=size[1],
                    )
                )
    track = f"{the_plan.stream_prefix}thumbs/thumbnails.vtt"
    storage.put_text(config.output_bucket, track, hls.thumbnails_track(cues), "text/vtt")
    return Thumbnails(
        bucket=config.output_bucket,
        track=track,
        sprites=sprites,
        interval_seconds=interval,
        width=size[0],
        height=size[1],
    )


# --- publishing ----------------------------------------------------------------------------------------


def _still_wanted(video_id: str, deps: WorkflowDeps) -> bool:
    """False (after removing what was written for it) when the video was deleted meanwhile."""
    if not deps.tombstones.marked(video_id):
        return True
    deps.storage.delete_prefix(deps.config.output_bucket, video_prefix(video_id))
    return False


def _publish_once(event: VideoTranscoded | VideoTranscodeFailed, deps: WorkflowDeps) -> dict[str, Any]:
    """Publish the outcome, then write the manifest (last: if publishing failed, a retry publishes again)."""
    if not _still_wanted(event.video_id, deps):
        return {"status": "skipped", "reason": "DELETED"}
    deps.publisher.publish(event)
    deps.storage.write_json(
        deps.config.output_bucket,
        manifest_key(event.video_id),
        {"source": event.source.model_dump(mode="json"), "event": event.model_dump(mode="json")},
    )
    # A deletion that came in while we wrote must not leave our writes behind (see logic/deletion.py).
    if not _still_wanted(event.video_id, deps):
        return {"status": "skipped", "reason": "DELETED"}
    return {"status": "published", "event": event.event_type, "event_id": event.event_id}


def fail(upload: Upload, failure: dict[str, Any], deps: WorkflowDeps) -> dict[str, Any]:
    """Publish VideoTranscodeFailed for a step that failed for good (its reason, and its chunk if it had one)."""
    try:
        reason = FailureReason(str(failure.get("reason_code")))
    except ValueError:
        reason = FailureReason.TRANSCODE_FAILED
    chunk = ChunkRef.model_validate(failure["chunk"]) if failure.get("chunk") else None
    detail = str(failure.get("detail") or "the workflow failed")
    if chunk is not None:
        detail = f"chunk {chunk.index} ({chunk.start_seconds:g}-{chunk.end_seconds:g} s): {detail}"
    event = VideoTranscodeFailed(
        event_id=stable_event_id("VideoTranscodeFailed", upload.identity),
        **_about(upload),
        reason_code=reason,
        reason=detail[:2000],
        chunk=chunk,
    )
    return _publish_once(event, deps)


def failure_of(error: dict[str, Any] | None) -> dict[str, Any]:
    """The failure a state machine Catch hands over (`{"Error", "Cause"}`) as a task's `failure`.

    A chunk or the audio that gave up says, in its Fail state's cause (JSON), which chunk it was
    and its last result: a task's own `failure`, or the Error/Cause of a timeout.
    """
    error = error or {}
    name, cause = error.get("Error") or "States.Runtime", error.get("Cause")
    document: Any = None
    if isinstance(cause, str) and cause.startswith("{"):
        with suppress(ValueError):
            document = json.loads(cause)
    if not isinstance(document, dict):
        return {"reason_code": FailureReason.TRANSCODE_FAILED.value, "detail": f"{name}: {cause or 'no detail'}"}
    result: dict[str, Any] = document["result"] if isinstance(document.get("result"), dict) else {}
    failure = dict(result.get("failure") or {})
    if not failure:
        detail = f"{result.get('Error') or name}: {result.get('Cause') or 'the task did not answer in time'}"
        failure = {"reason_code": FailureReason.TRANSCODE_FAILED.value, "detail": detail}
    if isinstance(document.get("chunk"), dict):
        failure.setdefault("chunk", document["chunk"])
    return failure


# --- The task messages the state machine sends ----------------------------------------------------------


class TaskMessage(_Step):
    """What a `sqs:sendMessage.waitForTaskToken` task of the workflow puts on the media tasks queue."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    task: str
    token: str
    input: dict[str, Any]

    @property
    def _upload(self) -> dict[str, Any]:
        """The upload the task is about, as the state machine passed it (in the input or in its plan)."""
        upload = self.input.get("upload") or (self.input.get("plan") or {}).get("upload")
        return upload if isinstance(upload, dict) else {}

    @property
    def correlation_id(self) -> str | None:
        return self._upload.get("correlation_id")

    def describe(self, result: dict[str, Any]) -> dict[str, Any]:
        """What a log line says about the task and its result."""
        upload, failure = self._upload, result.get("failure") or {}
        said = {
            "video_id": upload.get("video_id"),
            "chunk": (self.input.get("chunk") or {}).get("index"),
            "status": result.get("status"),
            "reason": result.get("reason") or failure.get("reason_code"),
        }
        return {name: value for name, value in said.items() if value is not None}


TASKS = ("plan", "chunk", "audio", "assemble", "fail")
# Short and idempotent: retried in place when they raise (a throttle, a 5xx after the SDK's own retries). The
# state machine retries the long ones, chunks and the audio, with a new message (a worker that died included).
RETRIED_IN_PLACE = ("plan", "assemble", "fail")


def run_task(
    message: TaskMessage,
    deps: WorkflowDeps,
    *,
    retry_seconds: tuple[float, ...] = (1, 4),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Do one task of the workflow; its result for the state machine."""
    waits = retry_seconds if message.task in RETRIED_IN_PLACE else ()
    for wait in waits:
        try:
            return _run(message, deps)
        except Exception:
            sleep(wait)
    return _run(message, deps)


def _run(message: TaskMessage, deps: WorkflowDeps) -> dict[str, Any]:
    given = message.input
    if message.task == "plan":
        return plan(Upload.model_validate(given["upload"]), deps)
    if message.task == "fail":
        failure = given.get("failure") or failure_of(given.get("error"))
        return fail(Upload.model_validate(given["upload"]), failure, deps)
    the_plan = Plan.model_validate(given["plan"])
    if message.task == "chunk":
        return encode_chunk(the_plan, ChunkRef.model_validate(given["chunk"]), deps)
    if message.task == "audio":
        return encode_audio(the_plan, deps)
    if message.task == "assemble":
        return assemble(the_plan, deps)
    raise ValueError(f"unknown task {message.task!r}; known: {', '.join(TASKS)}")
