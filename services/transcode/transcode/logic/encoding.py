"""The workflow's encoding tasks: the plan (gate, ladder, chunks), one chunk in every rung, the audio once."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

from contracts import FailureReason, Upload, stable_event_id
from contracts.events import (
    ChunkRef,
    VideoTranscodeProgress,
)
from contracts.keys import manifest_key, poster_key
from lambdakit.metrics import CHUNK_SECONDS
from mediatools import MediaToolError
from transcode.logic import fmp4, hls
from transcode.logic.chunking import plan_chunks, timescale
from transcode.logic.gate import Rejected, check_size, inspect
from transcode.logic.ladder import plan_ladder, poster_time
from transcode.logic.ports import SourceMissing, SourceSuperseded, Storage
from transcode.logic.subtitles import text_tracks
from transcode.logic.workflow import (
    Plan,
    Rung,
    WorkflowDeps,
    about,
    cpu_now,
    cpu_seconds,
    failed,
    piece_json,
    tag_of,
    work_dir,
)

PROGRESS_STEPS = 20  # at most this many progress events per video


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
        return failed(FailureReason.SOURCE_MISSING, str(exc), retryable=False)
    except Rejected as rejected:
        return failed(rejected.reason, rejected.detail, retryable=False)
    video = probe.video
    seconds = accepted.video_seconds
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
        concurrency=config.chunk_concurrency,
        started_at=started_at or begun,
        planned_at=deps.clock(),
        subtitles=text_tracks(probe),
        picture=accepted.picture,
        video_offset=accepted.video_offset,
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
    started, cpu_started = time.perf_counter(), cpu_now(deps)
    try:
        source = storage.source_url(the_plan.upload)
        with work_dir(config, f"chunk-{chunk.index}-") as work:
            files = deps.media.encode_chunk(
                source,
                the_plan.demuxer,
                chunk,
                [r.rendition() for r in the_plan.rungs],
                the_plan.grid,
                the_plan.timescale,
                work,
                poster_at=the_plan.poster_at if chunk.index == 0 else None,
                picture=the_plan.picture_for(chunk),
                last=chunk.index == the_plan.chunks[-1].index,
            )
            record: dict[str, Any] = {"chunk": chunk.model_dump(mode="json"), "rungs": {}}
            for rung in the_plan.rungs:
                placed = fmp4.place(files.renditions[rung.name].read_bytes())
                key = the_plan.chunk_key(rung.name, chunk.index)
                layout = fmp4.layout(placed)
                piece = hls.piece(key.rsplit("/", 1)[-1], layout, the_plan.segment_seconds)
                storage.put_bytes(config.output_bucket, key, bytes(placed), "video/mp4")
                record["rungs"][rung.name] = piece_json(piece) | {
                    "codec": fmp4.avc_codec(placed),
                    "max_frame_rate": layout.max_frame_rate(),
                }
            for number, path in files.thumbnails.items():
                if path.is_file():
                    storage.upload(path, config.output_bucket, the_plan.thumbnail_key(number), "image/jpeg")
            if files.poster is not None:
                storage.upload(files.poster, config.output_bucket, poster_key(the_plan.upload.video_id), "image/jpeg")
    except SourceSuperseded:
        return {"status": "skipped", "reason": "SUPERSEDED"}
    except SourceMissing as exc:
        return failed(FailureReason.SOURCE_MISSING, str(exc), retryable=False, chunk=chunk)
    except (MediaToolError, fmp4.Fmp4Error) as exc:
        detail = exc.detail if isinstance(exc, MediaToolError) else str(exc)
        return failed(FailureReason.TRANSCODE_FAILED, detail, retryable=True, chunk=chunk)
    record["seconds"] = round(time.perf_counter() - started, 3)
    record["cpu_seconds"] = cpu_seconds(deps, cpu_started)  # ffmpeg's, summed per video when it is assembled
    storage.write_json(config.output_bucket, the_plan.piece_key(chunk.index), record)
    deps.meter.record(CHUNK_SECONDS, record["seconds"])
    result: dict[str, Any] = {"status": "done", "chunk": chunk.index}
    try:
        _report_progress(the_plan, deps)
    except Exception as exc:  # progress is advisory: the chunk is done, and the next one reports again
        result["progress"] = f"not published: {type(exc).__name__}"
    return result


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
            **about(upload),
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
    cpu_started = cpu_now(deps)
    try:
        source = storage.source_url(the_plan.upload)
        with work_dir(config, "audio-") as work:
            out = work / "audio.mp4"
            deps.media.encode_audio(source, the_plan.demuxer, out, video_seconds=the_plan.video_seconds)
            piece = hls.piece("audio.mp4", fmp4.layout(out.read_bytes()), the_plan.segment_seconds)
            storage.upload(out, config.output_bucket, the_plan.audio_key, "audio/mp4")
            record = piece_json(piece) | {"cpu_seconds": cpu_seconds(deps, cpu_started)}
            storage.write_json(config.output_bucket, the_plan.audio_piece_key, record)
    except SourceSuperseded:
        return {"status": "skipped", "reason": "SUPERSEDED"}
    except SourceMissing as exc:
        return failed(FailureReason.SOURCE_MISSING, str(exc), retryable=False)
    except (MediaToolError, fmp4.Fmp4Error) as exc:
        detail = exc.detail if isinstance(exc, MediaToolError) else str(exc)
        return failed(FailureReason.TRANSCODE_FAILED, f"audio: {detail}", retryable=True)
    return {"status": "done", "audio": True}
