"""Request and response bodies of the HTTP API (what clients send and get back)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateUpload(_Body):
    """POST /uploads. The key is the server's choice: only a file name is asked for."""

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(pattern=r"^video/[A-Za-z0-9][A-Za-z0-9.+-]{0,100}$")
    size: int = Field(gt=0, description="bytes")


class UploadForm(_Body):
    """A presigned POST: send `fields` and then the file (as `file`) to `url` as multipart/form-data."""

    video_id: str
    url: str
    fields: dict[str, str]
    expires_in: int = Field(description="seconds the form stays valid")
    max_size: int


class ApiError(_Body):
    message: str
