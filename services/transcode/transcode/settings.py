"""The transcode service's settings: every variable it knows, each read when a function first uses it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lambdakit.settings import Setting, Settings, SettingsError, flag, not_negative, positive
from transcode.logic.chunking import Grid
from transcode.logic.gate import GateLimits


class TranscodeSettings(Settings):
    uploads_bucket = Setting("UPLOADS_BUCKET")
    transcoded_bucket = Setting("TRANSCODED_BUCKET")
    video_events_topic_arn = Setting("VIDEO_EVENTS_TOPIC_ARN")
    deleted_videos_table = Setting("DELETED_VIDEOS_TABLE")
    workflow_arn = Setting("WORKFLOW_ARN")
    playback_distribution_id = Setting("PLAYBACK_DISTRIBUTION_ID", default="")  # empty: the stage has no CDN
    work_dir = Setting("WORK_DIR", Path, default=Path("/tmp"))
    ffmpeg_preset = Setting("FFMPEG_PRESET", default="veryfast")
    ffmpeg_threads = Setting("FFMPEG_THREADS", int, default=0, check=not_negative)
    encode_timeout_seconds = Setting("ENCODE_TIMEOUT_SECONDS", float, default=840.0, check=positive)
    heartbeat_seconds = Setting("HEARTBEAT_SECONDS", float, default=30.0, check=positive)
    segment_seconds = Setting("SEGMENT_SECONDS", int, default=6, check=positive)
    keyframe_seconds = Setting("KEYFRAME_SECONDS", int, default=2, check=positive)
    chunk_seconds = Setting("CHUNK_SECONDS", int, default=60, check=positive)
    chunk_concurrency = Setting("CHUNK_CONCURRENCY", int, default=40, check=positive)
    # the growing stream (logic/growing.py); false: the way before it (even chunks, every rung at once, the
    # video plays once READY), kept for `make bench-first-play` to compare against
    early_stream = Setting("EARLY_STREAM", flag, default=True)
    thumbnail_seconds = Setting("THUMBNAIL_SECONDS", int, default=10, check=positive)
    download_max_bytes = Setting("DOWNLOAD_MAX_BYTES", int, default=2 * 1024**3, check=not_negative)
    max_source_bytes = Setting("MAX_SOURCE_BYTES", int, default=5 * 1024**3, check=positive)
    max_duration_seconds = Setting("MAX_DURATION_SECONDS", float, default=4 * 3600.0, check=positive)
    max_long_side = Setting("MAX_LONG_SIDE", int, default=3840, check=positive)
    max_short_side = Setting("MAX_SHORT_SIDE", int, default=2160, check=positive)
    max_fps = Setting("MAX_FPS", float, default=60.0, check=positive)
    max_streams = Setting("MAX_STREAMS", int, default=8, check=positive)

    def limits(self) -> GateLimits:
        return GateLimits(
            max_source_bytes=self.max_source_bytes,
            max_duration_seconds=self.max_duration_seconds,
            max_long_side=self.max_long_side,
            max_short_side=self.max_short_side,
            max_fps=self.max_fps,
            max_streams=self.max_streams,
        )

    def grid(self) -> Grid:
        try:
            return Grid(
                segment_seconds=self.segment_seconds,
                keyframe_seconds=self.keyframe_seconds,
                chunk_seconds=self.chunk_seconds,
                thumbnail_seconds=self.thumbnail_seconds,
            )
        except ValueError as exc:
            raise SettingsError(f"CHUNK_SECONDS, SEGMENT_SECONDS, KEYFRAME_SECONDS: {exc}") from None


@cache
def settings() -> TranscodeSettings:
    return TranscodeSettings()
