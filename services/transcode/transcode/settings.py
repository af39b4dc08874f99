"""The transcode service's settings: read once from the environment, at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from transcode.logic.gate import GateLimits


class TranscodeSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    uploads_bucket: str = Field(alias="UPLOADS_BUCKET")
    transcoded_bucket: str = Field(alias="TRANSCODED_BUCKET")
    video_events_topic_arn: str = Field(alias="VIDEO_EVENTS_TOPIC_ARN")
    work_dir: Path = Field(Path("/tmp"), alias="WORK_DIR")
    ffmpeg_preset: str = Field("veryfast", alias="FFMPEG_PRESET")
    encode_timeout_seconds: float = Field(840, alias="ENCODE_TIMEOUT_SECONDS", gt=0)
    max_source_bytes: int = Field(5 * 1024**3, alias="MAX_SOURCE_BYTES", gt=0)
    max_duration_seconds: float = Field(600, alias="MAX_DURATION_SECONDS", gt=0)
    max_long_side: int = Field(3840, alias="MAX_LONG_SIDE", gt=0)
    max_short_side: int = Field(2160, alias="MAX_SHORT_SIDE", gt=0)
    max_fps: float = Field(60, alias="MAX_FPS", gt=0)
    max_streams: int = Field(8, alias="MAX_STREAMS", gt=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TranscodeSettings:
        return cls.model_validate({k: v for k, v in environ.items() if k in _ENV_NAMES})

    @property
    def limits(self) -> GateLimits:
        return GateLimits(
            max_source_bytes=self.max_source_bytes,
            max_duration_seconds=self.max_duration_seconds,
            max_long_side=self.max_long_side,
            max_short_side=self.max_short_side,
            max_fps=self.max_fps,
            max_streams=self.max_streams,
        )


_ENV_NAMES = {field.alias for field in TranscodeSettings.model_fields.values()}


@cache
def get_settings() -> TranscodeSettings:
    return TranscodeSettings.from_env(os.environ)
