"""The workflow's last tasks: assemble the stream and publish VideoTranscoded, or report a failure."""

from __future__ import annotations

import json
import re
import shutil
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts import FailureReason, PosterFile, RenditionFile, Upload, stable_event_id
from contracts.events import (
    ChunkRef,
    StreamPackage,
    StreamRendition,
    Thumbnails,
    VideoTranscoded,
    VideoTranscodeFailed,
)
from contracts.keys import poster_key, rendition_key
from contracts.readable import failure_sentence
from lambdakit.metrics import TRANSCODE_CPU, TRANSCODE_WALL
from mediatools import MediaToolError
from transcode.logic import growing, hls
from transcode.logic.ladder import thumbnail_size
from transcode.logic.ports import SourceMissing, SourceSuperseded
from transcode.logic.subtitles import SubtitleTrack
from transcode.logic.workflow import (
    Plan,
    WorkflowDeps,
    about,
    cpu_now,
    cpu_seconds,
    failed,
    piece_of,
    publish_once,
    work_dir,
)

SPRITE_COLUMNS = 10
SPRITE_ROWS = 10
_THUMBNAIL = re.compile(r"t\d{5}\.jpg")


# --- assemble ------------------------------------------------------------------------------------------


def assemble(the_plan: Plan, deps: WorkflowDeps) -> dict[str, Any]:
    """Playlists over the stored chunks (the growing stream's URLs, now VOD), MP4 downloads where they fit, the
    thumbnail sprites; then publish."""
    config, storage, upload = deps.config, deps.storage, the_plan.upload
    bucket = config.output_bucket
    assembling, cpu_started = deps.clock(), cpu_now(deps)
    timings: dict[str, float] = {
        "plan": _seconds(the_plan.started_at, the_plan.planned_at),
        "encode": _seconds(the_plan.planned_at, assembling),
    }
    tick = time.perf_counter()
    records: list[list[dict[str, Any]]] = []  # by round, by chunk
    for round_index in range(the_plan.round_count):
        found = [storage.read_json(bucket, the_plan.piece_key(c.index, round_index)) for c in the_plan.chunks]
        missing = [c for c, r in zip(the_plan.chunks, found, strict=True) if r is None]
        if missing:
            return failed(
                FailureReason.TRANSCODE_FAILED, "the chunk's output is missing", retryable=False, chunk=missing[0]
            )
        records.append([r for r in found if r is not None])
    chunk_seconds = [r["seconds"] for rounds in records for r in rounds]
    timings["encode_chunk_max"] = max(chunk_seconds)
    timings["encode_chunk_total"] = round(sum(chunk_seconds), 3)
    audio: list[hls.Piece] = []
    audio_done = None
    playlists: dict[str, str] = {}  # key -> text: the finished stream's, kept in final.json before they are written
    if the_plan.has_audio:
        audio_done = storage.read_json(bucket, the_plan.audio_done_key)
        found_audio = [storage.read_json(bucket, the_plan.audio_piece_key(c.index)) for c in the_plan.chunks]
        if audio_done is None or any(r is None for r in found_audio):
            return failed(FailureReason.TRANSCODE_FAILED, "the audio's output is missing", retryable=False)
        audio = [piece_of(r) for r in found_audio if r is not None]
        playlists[the_plan.playlist_key("audio")] = hls.media_playlist(audio)
    subtitles = _subtitles(the_plan, deps)
    rungs: list[StreamRendition] = []
    variants: list[hls.Variant] = []
    pieces_by_rung: dict[str, list[hls.Piece]] = {}
    try:
        for rung in the_plan.rungs:
            rung_records = [r["rungs"][rung.name] for r in records[the_plan.round_of(rung.name)]]
            pieces = [piece_of(r) for r in rung_records]
            pieces_by_rung[rung.name] = pieces
            playlist_key = the_plan.playlist_key(rung.name)
            playlists[playlist_key] = hls.media_playlist(pieces)
            variant = growing.variant(the_plan, rung, rung_records, audio)
            variants.append(variant)
            rungs.append(
                StreamRendition(
                    name=rung.name,
                    width=rung.width,
                    height=rung.height,
                    playlist=playlist_key,
                    bandwidth=variant.bandwidth,
                    average_bandwidth=variant.average_bandwidth,
                    codecs=variant.codecs,
                    frame_rate=variant.frame_rate,
                )
            )
    except hls.MismatchedPieces as exc:
        return failed(FailureReason.TRANSCODE_FAILED, str(exc), retryable=False)
    master_key = the_plan.master_key
    # the master last: every playlist it names is written before it
    playlists[master_key] = hls.master_playlist(variants, "audio/index.m3u8" if audio else None, subtitles.renditions)
    storage.write_json(bucket, the_plan.final_key, {"playlists": playlists})
    growing.restore_final({"playlists": playlists}, deps)
    timings["playlists"] = round(time.perf_counter() - tick, 3)

    tick = time.perf_counter()
    try:
        downloads = _downloads(the_plan, pieces_by_rung, audio, deps)
    except MediaToolError as exc:
        return failed(FailureReason.TRANSCODE_FAILED, f"MP4 download: {exc.detail}", retryable=True)
    timings["downloads"] = round(time.perf_counter() - tick, 3)
    tick = time.perf_counter()
    thumbnails = _thumbnails(the_plan, deps)
    timings["thumbnails"] = round(time.perf_counter() - tick, 3)

    top = the_plan.rungs[0]
    poster_size = storage.size(bucket, poster_key(upload.video_id))
    event = VideoTranscoded(
        event_id=stable_event_id("VideoTranscoded", upload.identity),
        **about(upload),
        duration_seconds=round(the_plan.video_seconds, 3),
        stream=StreamPackage(
            bucket=bucket,
            master=master_key,
            renditions=rungs,
            audio=the_plan.playlist_key("audio") if audio else None,
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
    result = publish_once(event, deps) | subtitles.note()
    if result["status"] == "published":
        tasks_cpu = [r.get("cpu_seconds") for rounds in records for r in rounds]
        tasks_cpu.append((audio_done or {"cpu_seconds": 0}).get("cpu_seconds"))
        _measure(the_plan, event.timings["total"], [*tasks_cpu, cpu_seconds(deps, cpu_started)], deps)
    return result


def _measure(the_plan: Plan, wall_seconds: float, cpu: list[float | None], deps: WorkflowDeps) -> None:
    """What the video cost per minute of source: the workflow's wall time, and ffmpeg's CPU in every task of it
    (known only when every task measured it; chunks stored before CPU was measured leave it out)."""
    minutes = the_plan.video_seconds / 60
    if minutes <= 0:
        return
    deps.meter.record(TRANSCODE_WALL, round(wall_seconds / minutes, 3))
    if all(seconds is not None for seconds in cpu):
        deps.meter.record(TRANSCODE_CPU, round(sum(s for s in cpu if s is not None) / minutes, 3))


def _seconds(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds(), 3)


def _joined(keys: list[str], pieces: list[hls.Piece], out: Path, deps: WorkflowDeps) -> Path:
    """A track's pieces as one fragmented MP4: the first one's init segment, then every piece's fragments
    (already on the timeline)."""
    with out.open("wb") as track:
        for number, (key, piece) in enumerate(zip(keys, pieces, strict=True)):
            path = out.with_name(f"part-{number:05d}.mp4")
            deps.storage.download(deps.config.output_bucket, key, path)
            with path.open("rb") as part:
                part.seek(0 if number == 0 else piece.init_length)
                shutil.copyfileobj(part, track)
            path.unlink()
    return out


def _downloads(
    the_plan: Plan, pieces: dict[str, list[hls.Piece]], audio: list[hls.Piece], deps: WorkflowDeps
) -> list[RenditionFile]:
    """An MP4 per rung whose size (video and audio) fits the download limit: built from the stored chunks."""
    config, storage = deps.config, deps.storage
    files = []
    for rung in the_plan.rungs:
        size = sum(p.size for p in pieces[rung.name]) + sum(p.size for p in audio)
        if size > config.download_max_bytes:
            continue
        with work_dir(config, f"download-{rung.name}-") as work:
            chunk_keys = [the_plan.chunk_key(rung.name, chunk.index) for chunk in the_plan.chunks]
            video_file = _joined(chunk_keys, pieces[rung.name], work / "video.mp4", deps)
            audio_file = None
            if audio:
                audio_keys = [the_plan.audio_key(chunk.index) for chunk in the_plan.chunks]
                audio_file = _joined(audio_keys, audio, work / "audio.mp4", deps)
            out = work / "download.mp4"
            deps.media.join_download(video_file, audio_file, out)
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
    with work_dir(config, "thumbnails-") as work:
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


def fail(upload: Upload, failure: dict[str, Any], deps: WorkflowDeps) -> dict[str, Any]:
    """Publish VideoTranscodeFailed for a step that failed for good: its code, the sentence people read for it
    (naming the part of the video when a chunk failed), and its chunk.

    The tool's words (ffmpeg's stderr, the chunk's times) stay out of the event: they come back in the
    result's `failure.detail`, which the task handler logs with the correlation id.
    """
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
        **about(upload),
        reason_code=reason,
        reason=failure_sentence(reason, chunk),
        chunk=chunk,
    )
    return publish_once(event, deps) | {"failure": {"reason_code": reason.value, "detail": detail[:2000]}}


def failure_of(error: dict[str, Any] | None) -> dict[str, Any]:
    """The failure a state machine Catch hands over (`{"Error", "Cause"}`) as a task's `failure`.

    A task that failed says so in its cause (the failure as JSON: logic/tasks.py); a chunk that gave up
    says, in its Fail state's cause (JSON), which chunk it was and the error it gave up on. Anything else
    (a timeout, a worker's fault) is its error name and words.
    """
    error = error or {}
    name, document = error.get("Error") or "States.Runtime", _json(error.get("Cause"))
    if not isinstance(document, dict):
        return _unexplained(name, error.get("Cause"))
    if "reason_code" in document:  # the task's own failure
        return dict(document)
    chunk = document.get("chunk")
    if isinstance(document.get("error"), dict):  # the chunk's error, as its Catch handed it over
        failure = failure_of(document["error"])
    else:  # (the cause a chunk gave up with before the workflow's Retry: its last result)
        result: dict[str, Any] = document["result"] if isinstance(document.get("result"), dict) else {}
        failure = dict(result.get("failure") or {}) or _unexplained(result.get("Error") or name, result.get("Cause"))
    if isinstance(chunk, dict):
        failure.setdefault("chunk", chunk)
    return failure


def _json(text: Any) -> Any:
    if isinstance(text, str) and text.startswith("{"):
        with suppress(ValueError):
            return json.loads(text)
    return None


def _unexplained(name: str, cause: Any) -> dict[str, Any]:
    detail = f"{name}: {cause or 'the task did not answer in time'}"
    return {"reason_code": FailureReason.TRANSCODE_FAILED.value, "detail": detail}


# --- subtitles -----------------------------------------------------------------------------------------

SUBTITLE_MAX_BYTES = 16 * 1024**2  # a track larger than this is not subtitles a person reads: left out


@dataclass(frozen=True)
class CarriedSubtitles:
    renditions: list[hls.SubtitleRendition] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # which track and why, for the task's log line

    def note(self) -> dict[str, Any]:
        return {"subtitles_left_out": self.left_out} if self.left_out else {}


def _subtitles(the_plan: Plan, deps: WorkflowDeps) -> CarriedSubtitles:
    """Each text track of the source as a WebVTT file and its one-segment playlist, beside the stream's.

    A track that cannot be carried is left out (and said so in the result): never the video for it.
    """
    if not the_plan.subtitles:
        return CarriedSubtitles()
    config, storage = deps.config, deps.storage
    carried = CarriedSubtitles()
    with work_dir(config, "subtitles-") as work:
        extracted = _extract_subtitles(the_plan, work, deps)
        for track in the_plan.subtitles:
            found = extracted.get(track.stream, "not extracted")
            try:
                if isinstance(found, str):
                    raise ValueError(found)
                if found.stat().st_size > SUBTITLE_MAX_BYTES:
                    raise ValueError(f"larger than {SUBTITLE_MAX_BYTES // 1024**2} MiB")
                text = found.read_text(encoding="utf-8", errors="replace")
                if "-->" not in text:
                    raise ValueError("no cues")
                vtt = hls.subtitle_track(text)
            except ValueError as exc:
                carried.left_out.append(f"stream {track.stream} ({track.codec}, {track.name}): {str(exc)[:300]}")
                continue
            prefix = the_plan.stream_prefix
            storage.put_text(config.output_bucket, prefix + track.track, vtt, "text/vtt")
            playlist = hls.subtitles_playlist(track.track.rsplit("/", 1)[-1], the_plan.video_seconds)
            storage.put_text(config.output_bucket, prefix + track.playlist, playlist, hls.CONTENT_TYPE)
            carried.renditions.append(
                hls.SubtitleRendition(track.playlist, track.name, track.language, track.default, track.forced)
            )
    return carried


def _extract_subtitles(the_plan: Plan, work: Path, deps: WorkflowDeps) -> dict[int, Path | str]:
    """Every track in one read of the source; if that fails, each on its own, so a bad track loses only itself.

    Stream index -> its WebVTT file, or why there is none.
    """
    tracks: list[SubtitleTrack] = the_plan.subtitles
    try:
        source = deps.storage.source_url(the_plan.upload)
        return dict(deps.media.extract_subtitles(source, the_plan.demuxer, [t.stream for t in tracks], work))
    except (SourceMissing, SourceSuperseded) as exc:
        return {track.stream: f"the source cannot be read: {exc}" for track in tracks}
    except MediaToolError as exc:
        if len(tracks) == 1:
            return {tracks[0].stream: exc.detail}
    found: dict[int, Path | str] = {}
    for track in tracks:
        folder = work / f"stream-{track.stream}"
        folder.mkdir()
        try:
            found |= deps.media.extract_subtitles(source, the_plan.demuxer, [track.stream], folder)
        except (MediaToolError, SourceMissing, SourceSuperseded) as exc:
            found[track.stream] = exc.detail if isinstance(exc, MediaToolError) else str(exc)
    return found
