"""Page cursors of the catalog's indexes: the last key of a page, as an opaque string, checked when it comes back
(a key DynamoDB refuses would be a 500; a key of another partition would read what the caller may not)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from contracts.keys import VIDEO_ID_RE
from lambdakit.refusals import Invalid

MAX_TIME_LENGTH = 64  # "2026-11-26T10:00:00.123456+00:00" is 32; fromisoformat takes any number of digits


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode().rstrip("=")


def decode_index_cursor(cursor: str | None, partition: str, value: str) -> dict[str, Any] | None:
    """The start key a cursor holds, refused unless it is a key of the index's `partition` = `value` (with the
    table's video_id and the index's created_at)."""
    if not cursor:
        return None
    try:
        start = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # RecursionError: JSON nested deeper than json.loads goes
        raise Invalid("invalid cursor") from None
    if not isinstance(start, dict) or set(start) != {"video_id", partition, "created_at"} or start[partition] != value:
        raise Invalid("invalid cursor")
    if not _is_video_id(start["video_id"]) or not _is_time(start["created_at"]):
        raise Invalid("invalid cursor")  # the index's keys: a value DynamoDB refuses would be a 500
    return start


def _is_video_id(value: Any) -> bool:
    return isinstance(value, str) and VIDEO_ID_RE.fullmatch(value) is not None


def _is_time(value: Any) -> bool:
    """An ISO 8601 time, as the catalog writes created_at, short enough for a DynamoDB sort key."""
    if not isinstance(value, str) or len(value) > MAX_TIME_LENGTH:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
