"""Where objects live: the upload key layout and the rendition keys, shared by every service."""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict

UPLOAD_PREFIX = "uploads/"
VIDEOS_PREFIX = "videos/"
VIDEO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$")
_OWNER_RE = re.compile(r"^[^/\x00-\x1f]{1,128}$")


class UploadKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    video_id: str
    owner: str | None
    filename: str


def derived_video_id(key: str) -> str:
    """A stable id for an object that is not under uploads/{owner}/{video_id}/."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def parse_upload_key(key: str) -> UploadKey:
    """Read owner, video id and file name from `uploads/{owner}/{video_id}/{filename}`.

    Any other key still gets a video id, derived from the whole key, so the same
    object always maps to the same video.
    """
    parts = key.split("/", 3)
    if (
        len(parts) == 4
        and key.startswith(UPLOAD_PREFIX)
        and _OWNER_RE.match(parts[1])
        and VIDEO_ID_RE.match(parts[2])
        and parts[3]
    ):
        return UploadKey(key=key, owner=parts[1], video_id=parts[2], filename=parts[3])
    return UploadKey(key=key, owner=None, video_id=derived_video_id(key), filename=key.rsplit("/", 1)[-1] or key)


def video_prefix(video_id: str) -> str:
    if not VIDEO_ID_RE.match(video_id):
        raise ValueError(f"not a video id: {video_id!r}")
    return f"{VIDEOS_PREFIX}{video_id}/"


def rendition_key(video_id: str, rendition: str) -> str:
    return f"{video_prefix(video_id)}{rendition}.mp4"


def poster_key(video_id: str) -> str:
    return f"{video_prefix(video_id)}poster.jpg"


def manifest_key(video_id: str) -> str:
    return f"{video_prefix(video_id)}manifest.json"
