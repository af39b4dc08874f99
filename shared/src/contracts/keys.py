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


def upload_prefix(owner: str, video_id: str) -> str:
    """`uploads/{owner}/{video_id}/`: where one video's upload lives (ValueError for an owner or id it cannot hold)."""
    if not _OWNER_RE.fullmatch(owner):
        raise ValueError(f"not an owner a key can name: {owner!r}")
    if not VIDEO_ID_RE.fullmatch(video_id):
        raise ValueError(f"not a video id: {video_id!r}")
    return f"{UPLOAD_PREFIX}{owner}/{video_id}/"


def upload_key(owner: str, video_id: str, filename: str) -> str:
    """The key of a video's upload; `parse_upload_key` reads the same three parts back."""
    if not filename:
        raise ValueError("an upload needs a file name")
    return upload_prefix(owner, video_id) + filename


def parse_upload_key(key: str) -> UploadKey:
    """Read owner, video id and file name from `uploads/{owner}/{video_id}/{filename}`.

    Any other key still gets a video id, derived from the whole key, so the same
    object always maps to the same video.
    """
    parts = key.split("/", 3)
    if (
        len(parts) == 4
        and key.startswith(UPLOAD_PREFIX)
        and _OWNER_RE.fullmatch(parts[1])
        and VIDEO_ID_RE.fullmatch(parts[2])
        and parts[3]
    ):
        return UploadKey(key=key, owner=parts[1], video_id=parts[2], filename=parts[3])
    return UploadKey(key=key, owner=None, video_id=derived_video_id(key), filename=key.rsplit("/", 1)[-1] or key)


def video_prefix(video_id: str) -> str:
    if not VIDEO_ID_RE.fullmatch(video_id):
        raise ValueError(f"not a video id: {video_id!r}")
    return f"{VIDEOS_PREFIX}{video_id}/"


def rendition_key(video_id: str, rendition: str) -> str:
    return f"{video_prefix(video_id)}{rendition}.mp4"


def poster_key(video_id: str) -> str:
    return f"{video_prefix(video_id)}poster.jpg"


def manifest_key(video_id: str) -> str:
    return f"{video_prefix(video_id)}manifest.json"
