"""The upload API's settings, read once from the environment."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class UploadSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    uploads_bucket: str = Field(alias="UPLOADS_BUCKET")
    max_upload_bytes: int = Field(5 * 1024**3, alias="MAX_UPLOAD_BYTES", gt=0)
    # above this a form becomes a multipart upload; never above S3's single-POST limit
    multipart_threshold_bytes: int = Field(5 * 1024**3, alias="MULTIPART_THRESHOLD_BYTES", gt=0, le=5 * 1024**3)


@cache
def get_settings() -> UploadSettings:
    names = {field.alias for field in UploadSettings.model_fields.values()}
    return UploadSettings.model_validate({k: v for k, v in os.environ.items() if k in names})
