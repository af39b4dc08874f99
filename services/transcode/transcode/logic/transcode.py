"""Turn one uploaded object into a ladder of renditions and a poster, and say so."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from contracts import (
    FailureReason,
    PosterFile,
    RenditionFile,
    Upload,
    VideoTranscoded,
    VideoTranscodeFailed,
    poster_key,
    rendition_key,
    stable_event_id,
)
from contracts.events import utc_now
from contracts.keys import manifest_key, video_prefix
from mediatools import MediaToolError
from transcode.logic.gate import GateLimits, Rejected, check_size, inspect
from transcode.logic.ladder import plan_ladder, poster_time
from transcode.logic.ports import MediaTool, Publisher, SourceMissing, SourceSuperseded, Storage, Tombstones

# Room for the source and every output: the ladder is never larger than the source
# by much, and a 10 MiB floor covers the poster and small clips.
SPACE_FACTOR = 3
SPACE_FLOOR = 10 * 1024**2


class NotEnoughSpace(Exception):
    """Not enough free space in the work folder right now. Retryable."""


@dataclass(frozen=True)
class TranscodeConfig:
    uploads_bucket: str  # the only bucket whose uploads are transcoded
    output_bucket: str
    work_dir: Path
    limits: GateLimits = field(default_factory=GateLimits)


@dataclass
class TranscodeDeps:
    storage: Storage
    publisher: Publisher
    media: MediaTool
    tombstones: Tombstones
    config: TranscodeConfig
    clock: Callable[[], datetime] = utc_now


Outcome = VideoTranscoded | VideoTranscodeFailed


class Skipped(StrEnum):
    """Why an upload was acknowledged without an outcome being published."""

    DUPLICATE = "already transcoded; duplicate delivery skipped"
    SUPERSEDED = "the key was written again since this event; skipped (the newer write's event does the work)"
    DELETED = "the video was deleted; its work is dropped"


def _ensure_space(work_dir: Path, size: int | None) -> None:
    needed = max(SPACE_FLOOR, (size or 0) * SPACE_FACTOR)
    free = shutil.disk_usage(work_dir).free
    if free < needed:
        raise NotEnoughSpace(f"{free} bytes free in {work_dir}, {needed} needed")


def transcode_upload(upload: Upload, deps: TranscodeDeps) -> Outcome | Skipped:
    """Transcode one upload and publish the outcome (VideoTranscoded, or VideoTranscodeFailed with the reason).

    Duplicate deliveries of the same object (same key and version) do no work twice; a
    late event for an older write of the key is skipped; the work for a video deleted
    before, during or after it is dropped and whatever it wrote removed.
    """
    source, config, storage = upload.source, deps.config, deps.storage
    manifest_at = manifest_key(upload.video_id)
    done = storage.read_json(config.output_bucket, manifest_at)
    if done and done.get("source") == source.model_dump(mode="json"):
        return Skipped.DUPLICATE
    if deps.tombstones.marked(upload.video_id):
        return Skipped.DELETED
    try:
        outcome: Outcome = _transcode(upload, deps)
    except SourceSuperseded:
        return Skipped.SUPERSEDED
    except Rejected as rejected:
        outcome = VideoTranscodeFailed(
            event_id=stable_event_id("VideoTranscodeFailed", upload.identity),
            video_id=upload.video_id,
            owner=upload.owner,
            source=source,
            correlation_id=upload.correlation_id,
            reason_code=rejected.reason,
            reason=rejected.detail[:2000],
        )
    if not _still_wanted(upload.video_id, deps):
        return Skipped.DELETED
    deps.publisher.publish(outcome)
    # Written last: if publishing failed, the retry must do the work again.
    storage.write_json(
        config.output_bucket,
        manifest_at,
        {"source": source.model_dump(mode="json"), "event": outcome.model_dump(mode="json")},
    )
    # A deletion that came in while we wrote must not leave our writes behind (see logic/deletion.py).
    return outcome if _still_wanted(upload.video_id, deps) else Skipped.DELETED


def _still_wanted(video_id: str, deps: TranscodeDeps) -> bool:
    """False (after removing what was written for it) when the video was deleted meanwhile."""
    if not deps.tombstones.marked(video_id):
        return True
    deps.storage.delete_prefix(deps.config.output_bucket, video_prefix(video_id))
    return False


def _transcode(upload: Upload, deps: TranscodeDeps) -> VideoTranscoded:
    config, source, video_id = deps.config, upload.source, upload.video_id
    timings: dict[str, float] = {}
    started_at = deps.clock()
    check_size(source.size_bytes, config.limits)
    config.work_dir.mkdir(parents=True, exist_ok=True)
    _ensure_space(config.work_dir, source.size_bytes)
    with tempfile.TemporaryDirectory(prefix="transcode-", dir=config.work_dir) as tmp:
        work = Path(tmp)
        # The local name is ours: the user's file name never reaches ffmpeg.
        local_source = work / "source"
        tick = time.perf_counter()
        try:
            size = deps.storage.download(
                source.bucket, source.key, local_source, etag=upload.etag, version=upload.version_id
            )
        except SourceMissing as exc:
            raise Rejected(FailureReason.SOURCE_MISSING, str(exc)) from None
        check_size(size, config.limits)
        timings["download"] = time.perf_counter() - tick

        tick = time.perf_counter()
        try:
            probe = deps.media.probe(local_source)
        except MediaToolError as exc:
            reason = (
                FailureReason.UNSUPPORTED_CONTAINER if exc.not_allowed_container else FailureReason.UNREADABLE_MEDIA
            )
            raise Rejected(reason, exc.detail) from None
        accepted = inspect(probe, config.limits)
        renditions = plan_ladder(accepted.width, accepted.height)
        timings["probe"] = time.perf_counter() - tick

        tick = time.perf_counter()
        out_dir = work / "out"
        out_dir.mkdir()
        try:
            outputs = deps.media.transcode(local_source, accepted, renditions, poster_time(accepted.duration), out_dir)
        except MediaToolError as exc:
            raise Rejected(FailureReason.TRANSCODE_FAILED, exc.detail) from None
        timings["encode"] = time.perf_counter() - tick

        tick = time.perf_counter()
        files = []
        for rendition in renditions:
            key = rendition_key(video_id, rendition.name)
            path = outputs[rendition.name]
            deps.storage.upload(path, config.output_bucket, key, "video/mp4")
            files.append(
                RenditionFile(
                    name=rendition.name,
                    bucket=config.output_bucket,
                    key=key,
                    width=rendition.width,
                    height=rendition.height,
                    size_bytes=path.stat().st_size,
                )
            )
        poster = PosterFile(
            bucket=config.output_bucket,
            key=poster_key(video_id),
            width=renditions[0].width,
            height=renditions[0].height,
            size_bytes=outputs["poster"].stat().st_size,
        )
        deps.storage.upload(outputs["poster"], config.output_bucket, poster.key, "image/jpeg")
        timings["upload"] = time.perf_counter() - tick

    return VideoTranscoded(
        event_id=stable_event_id("VideoTranscoded", upload.identity),
        video_id=video_id,
        owner=upload.owner,
        source=source,
        correlation_id=upload.correlation_id,
        renditions=files,
        poster=poster,
        started_at=started_at,
        timings={name: round(seconds, 3) for name, seconds in timings.items()},
    )
