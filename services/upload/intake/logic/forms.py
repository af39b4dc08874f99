"""Upload forms: the key is generated under the caller's own prefix, the file name made safe."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from contracts.api import CreateUpload

FORM_EXPIRES_SECONDS = 600  # ten minutes
SINGLE_POST_LIMIT = 5 * 1024**3  # S3 takes at most 5 GiB in one POST
PART_URL_EXPIRES_SECONDS = 3600  # a large file needs longer than a form; each URL names one part of one upload
MIN_PART, MAX_PARTS = 8 * 1024**2, 10_000
_UNSAFE = re.compile(r"[^\w .()+-]", re.UNICODE)


class UploadRefused(Exception):
    """The request cannot get a form (a 400 with this message)."""


@dataclass(frozen=True)
class UploadPlan:
    video_id: str
    key: str
    content_type: str
    size: int


def safe_filename(name: str) -> str:
    """The last path segment, normalised, without control or special characters; never empty."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", "".join(c for c in name if unicodedata.category(c)[0] != "C"))
    name = re.sub(r"\s+", " ", name).strip(" .-_")
    return name[:200] or "video"


def plan_upload(
    request: CreateUpload, *, owner: str, max_size: int, new_id: Callable[[], str] = lambda: uuid.uuid4().hex
) -> UploadPlan:
    if request.size > max_size:
        raise UploadRefused(f"size {request.size} is over the maximum of {max_size} bytes")
    video_id = new_id()
    key = f"uploads/{owner}/{video_id}/{safe_filename(request.filename)}"
    return UploadPlan(video_id=video_id, key=key, content_type=request.content_type, size=request.size)


def part_size_for(size: int) -> int:
    """The smallest whole-MiB part size (at least 8 MiB) that fits the file in S3's 10,000 parts."""
    mib = 1024**2
    needed = -(-size // MAX_PARTS)
    return max(MIN_PART, -(-needed // mib) * mib)


def part_count(size: int, part_size: int) -> int:
    return -(-size // part_size)
