"""The workflow's encoding tasks: the plan (gate, ladder, chunks, rounds), a chunk in the rungs of a round, the
audio once; and what they report while they run (progress, the growing stream: logic/growing.py)."""

from __future__ import annotations

import time
from contextlib import suppress
from datetime import datetime
from typing import Any

from contracts import FailureReason, Upload, stable_event_id
from contracts.events import ChunkRef, PlayablePrefix, VideoTranscodeProgress
from contracts.keys import manifest_key, poster_key
from lambdakit.metrics import CHUNK_SECONDS
from mediatools import MediaToolError
from transcode.logic import fmp4, growing, hls
from transcode.logic.chunking import plan_chunks, timescale
from transcode.logic.gate import Rejected, check_size, inspect
from transcode.logic.ladder import plan_ladder, poster_time
from transcode.logic.ports import SourceMissing, SourceSuperseded
from transcode.logic.subtitles import text_tracks
from transcode.logic.workflow import (
    Plan,
    Rung,
    Work,
    WorkflowDeps,
    about,
    cpu_now,
    cpu_seconds,
    failed,
    piece_json,
    tag_of,
    work_dir,
)

PROGRESS_SECONDS = 5  # a running chunk reports its progress this often (at most)


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
    rungs = [Rung(**vars(r)) for r in plan_ladder(accepted.width, accepted.height)]
    early = config.early_stream
    chunks = plan_chunks(seconds, grid, ramp=early)
    rounds = _rounds(rungs) if early else [[r.name for r in rungs]]
    work = [Work(chunk=chunk, round=index) for index in range(len(rounds)) for chunk in chunks]
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
        rungs=rungs,
        chunks=chunks,
        rounds=rounds,
        work=work,
        first=work[0] if early else None,
        later=work[1:] if early else work,
        growing=early,
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


def _rounds(rungs: list[Rung]) -> list[list[str]]:
    """Round 0 encodes the lowest rung (the growing stream: the cheapest, so the start plays soonest), round 1
    the others."""
    names = [r.name for r in rungs]
    return [names[-1:], names[:-1]] if len(names) > 1 else [names]


def _succeeded(manifest: dict[str, Any]) -> bool:
    event = manifest.get("event")
    return isinstance(event, dict) and event.get("event_type") == "VideoTranscoded"


# --- chunk ---------------------------------------------------------------------------------------------


def encode_chunk(the_plan: Plan, chunk: ChunkRef, deps: WorkflowDeps, round_index: int = 0) -> dict[str, Any]:
    """Encode one chunk in the rungs of one round (decoding it once), place it on the timeline, store it and its
    record; round 0 also takes the chunk's thumbnails (and the poster), and extends the growing stream."""
    config, storage = deps.config, deps.storage
    record_key = the_plan.piece_key(chunk.index, round_index)
    if storage.read_json(config.output_bucket, record_key) is not None:
        return {"status": "done", "chunk": chunk.index, "round": round_index, "again": False}
    started, cpu_started = time.perf_counter(), cpu_now(deps)
    rungs = the_plan.rungs_of(round_index)
    first_round = round_index == 0
    progress = Progress(the_plan, Work(chunk=chunk, round=round_index), deps)
    try:
        source = storage.source_url(the_plan.upload)
        with work_dir(config, f"chunk-{chunk.index}-{round_index}-") as work:
            files = deps.media.encode_chunk(
                source,
                the_plan.demuxer,
                chunk,
                [r.rendition() for r in rungs],
                the_plan.grid,
                the_plan.timescale,
                work,
                poster_at=the_plan.poster_at if chunk.index == 0 and first_round else None,
                picture=the_plan.picture_for(chunk),
                last=chunk.index == the_plan.chunks[-1].index,
                top=the_plan.rungs[0].rendition(),
                thumbnails=first_round,
                progress=progress.encoded,
                background=the_plan.growing and not first_round,  # the growing stream's round 0 goes first
            )
            record: dict[str, Any] = {"chunk": chunk.model_dump(mode="json"), "round": round_index, "rungs": {}}
            for rung in rungs:
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
    storage.write_json(config.output_bucket, record_key, record)
    deps.meter.record(CHUNK_SECONDS, record["seconds"])
    result: dict[str, Any] = {"status": "done", "chunk": chunk.index, "round": round_index}
    return result | progress.finished(grown=first_round and the_plan.growing)


class Progress:
    """What a running chunk tells the catalog: VideoTranscodeProgress at most every PROGRESS_SECONDS while
    ffmpeg encodes (its own progress), and when the chunk is stored (with the growing stream's new length).

    The share counts every finished item of the Map by its weight (Plan.weight) and this one as far as ffmpeg
    has come; items running elsewhere are left out, so reports from concurrent chunks may disagree a little:
    the catalog keeps the highest.
    """

    def __init__(self, the_plan: Plan, item: Work, deps: WorkflowDeps) -> None:
        self.the_plan, self.item, self.deps = the_plan, item, deps
        self._last = time.monotonic()

    def encoded(self, frames: int, seconds: float) -> None:
        """ffmpeg has written `frames` frames, and muxed `seconds` of the chunk (MediaTool.encode_chunk)."""
        now = time.monotonic()
        if now - self._last < PROGRESS_SECONDS:
            return
        self._last = now
        chunk, rate = self.item.chunk, self.the_plan.frame_rate
        seconds = max(seconds, frames / rate) if rate else seconds
        share = min(1.0, max(0.0, seconds / max(chunk.end_seconds - chunk.start_seconds, 1e-3)))
        with suppress(Exception):  # advisory: the chunk goes on, and reports again
            report_progress(self.the_plan, self.deps, running=(self.item, share))

    def finished(self, *, grown: bool) -> dict[str, Any]:
        """Extend the growing stream (round 0) and report; what the task's result says about it."""
        try:
            playable = growing.publish(self.the_plan, self.deps) if grown else None
            report_progress(self.the_plan, self.deps, playable=playable)
        except Exception as exc:  # advisory: the chunk is done; the next one publishes (and reports) again
            return {"progress": f"not published: {type(exc).__name__}"}
        return {"playable_seconds": playable} if playable is not None else {}


def _finished_work(the_plan: Plan, deps: WorkflowDeps) -> list[Work]:
    """The Map's items whose records are stored."""
    storage, bucket = deps.storage, deps.config.output_bucket
    done = []
    for round_index in range(the_plan.round_count):
        keys = {key.rsplit("/", 1)[-1] for key in storage.list_keys(bucket, the_plan.records_prefix(round_index))}
        done += [Work(chunk=c, round=round_index) for c in the_plan.chunks if f"c{c.index:05d}.json" in keys]
    return done


def report_progress(
    the_plan: Plan, deps: WorkflowDeps, *, running: tuple[Work, float] | None = None, playable: float | None = None
) -> None:
    """Publish how much of the encoding is done (and, when known, how much of the growing stream plays)."""
    upload = the_plan.upload
    work = the_plan.work or [Work(chunk=c) for c in the_plan.chunks]
    done = _finished_work(the_plan, deps)
    total = sum(the_plan.weight(item) for item in work) or 1.0
    weight = sum(the_plan.weight(item) for item in done)
    if running is not None and running[0] not in done:
        weight += running[1] * the_plan.weight(running[0])
    share = round(min(1.0, weight / total), 4)
    seconds = round(playable, 1) if playable else None
    deps.publisher.publish(
        VideoTranscodeProgress(
            event_id=stable_event_id("VideoTranscodeProgress", upload.identity, f"{len(done)}:{share}:{seconds}"),
            **about(upload),
            chunks_done=min(len(done), len(work)),
            chunks_total=len(work),
            encoded=share,
            playable=PlayablePrefix(
                bucket=deps.config.output_bucket,
                master=the_plan.master_key,
                seconds=seconds,
                duration_seconds=the_plan.video_seconds,
            )
            if seconds
            else None,
        )
    )


# --- audio ---------------------------------------------------------------------------------------------


def encode_audio(the_plan: Plan, deps: WorkflowDeps) -> dict[str, Any]:
    """The source's whole audio track, encoded once (one encoder: no seam, AAC priming only at the very start),
    beside the chunks; stored as it comes, in pieces of the chunks' time ranges, so the growing stream has
    its sound as soon as its pictures."""
    config, storage = deps.config, deps.storage
    if not the_plan.has_audio:
        return {"status": "done", "audio": False}
    if storage.read_json(config.output_bucket, the_plan.audio_done_key) is not None:
        return {"status": "done", "audio": True, "again": False}  # a rerun does only the missing work
    cpu_started = cpu_now(deps)
    playable: list[float] = []

    def store(index: int, data: bytes) -> None:
        key = the_plan.audio_key(index)
        piece = hls.piece(key.rsplit("/", 1)[-1], fmp4.layout(data), the_plan.segment_seconds)
        storage.put_bytes(config.output_bucket, key, data, "audio/mp4")
        storage.write_json(config.output_bucket, the_plan.audio_piece_key(index), piece_json(piece))
        if the_plan.growing and (index < 3 or index % 4 == 0):  # the start matters most; later the chunks lag
            grow()

    def grow() -> None:
        """Extend the growing stream and say so: advisory, as a chunk's (the next piece or chunk does it again)."""
        with suppress(Exception):
            grown = growing.publish(the_plan, deps)
            if grown is not None and (not playable or grown > playable[-1]):
                playable.append(grown)
                report_progress(the_plan, deps, playable=grown)

    try:
        source = storage.source_url(the_plan.upload)
        splitter = fmp4.Splitter([c.end_seconds for c in the_plan.chunks], store)
        deps.media.encode_audio(source, the_plan.demuxer, splitter.feed, video_seconds=the_plan.video_seconds)
        pieces = splitter.close()
        if pieces != len(the_plan.chunks):
            raise fmp4.Fmp4Error(f"the audio came in {pieces} pieces for {len(the_plan.chunks)} chunks")
        if the_plan.growing:
            grow()
        record = {"pieces": pieces, "cpu_seconds": cpu_seconds(deps, cpu_started)}
        storage.write_json(config.output_bucket, the_plan.audio_done_key, record)
    except SourceSuperseded:
        return {"status": "skipped", "reason": "SUPERSEDED"}
    except SourceMissing as exc:
        return failed(FailureReason.SOURCE_MISSING, str(exc), retryable=False)
    except (MediaToolError, fmp4.Fmp4Error) as exc:
        detail = exc.detail if isinstance(exc, MediaToolError) else str(exc)
        return failed(FailureReason.TRANSCODE_FAILED, f"audio: {detail}", retryable=True)
    return {"status": "done", "audio": True}
