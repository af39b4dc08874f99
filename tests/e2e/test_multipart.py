"""A multipart upload through the local API: signed part URLs, completion, and the video becomes READY."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Stack, local_stack

pytestmark = pytest.mark.service("upload")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stage whose multipart threshold is 1 KB, so a short clip goes the multipart way."""
    with local_stack(tmp_path_factory.mktemp("stack"), {"multipartThresholdBytes": "1000"}) as running:
        yield running


def test_a_multipart_upload_completes_and_becomes_ready(stack: Stack, small_clip: Path):
    api = stack.api
    headers = {"Authorization": f"Bearer {stack.forge.token('dave')}"}
    data = small_clip.read_bytes()
    started = requests.post(
        f"{api}/uploads",
        json={"filename": "big.mp4", "content_type": "video/mp4", "size": len(data)},
        headers=headers,
        timeout=10,
    )
    assert started.status_code == 201, started.text
    upload = started.json()
    parts = []
    for part in upload["parts"]:
        offset = (part["part_number"] - 1) * upload["part_size"]
        put = requests.put(part["url"], data=data[offset : offset + upload["part_size"]], timeout=30)
        assert put.status_code == 200, put.text
        parts.append({"part_number": part["part_number"], "etag": put.headers["ETag"]})
    done = requests.post(
        f"{api}/uploads/{upload['video_id']}/complete",
        json={"upload_id": upload["upload_id"], "parts": parts},
        headers=headers,
        timeout=30,
    )
    assert done.status_code == 200, done.text
    assert stack.final_item(upload["video_id"])["status"] == "READY"
