"""The transcode service's settings: every variable it knows, each read when a function first uses it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lambdakit.settings import Setting, Settings, positive
from transcode.logic.gate import GateLimits


class TranscodeSettings(Settings):
    uploads_bucket = Setting("UPLOADS_BUCKET")
    transcoded_bucket = Setting("TRANSCODED_BUCKET")
    video_events_topic_arn = Setting("VIDEO_EVENTS_TOPIC_ARN")
    deleted_videos_table = Setting("DELETED_VIDEOS_TABLE")
    work_dir = Setting("WORK_DIR", Path, default=Path("/tmp"))
    ffmpeg_preset = Setting("FFMPEG_PRESET", default="veryfast")
    encode_timeout_seconds = Setting("ENCODE_TIMEOUT_SECONDS", float, default=840.0, check=positive)
    max_source_bytes = Setting("MAX_SOURCE_BYTES", int, default=5 * 1024**3, check=positive)
    max_duration_seconds = Setting("MAX_DURATION_SECONDS", float, default=600.0, check=positive)
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


@cache
def settings() -> TranscodeSettings:
    return TranscodeSettings()
