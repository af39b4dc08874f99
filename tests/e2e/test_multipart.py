"""A multipart upload through the local API: signed part URLs, completion, and the video becomes READY; resumed
with fresh part URLs and the ETags S3 reports; cancelled; and the bucket's CORS that lets a browser read ETags."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.service("upload")


def test_a_multipart_upload_completes_and_becomes_ready(stack: Stack, big_clip: Path):
    headers = {"Authorization": f"Bearer {stack.forge.token('dave')}"}
    data = big_clip.read_bytes()
    started = requests.post(
        stack.url("/uploads"),
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
        stack.url(f"/uploads/{upload['video_id']}/complete"),
        json={"upload_id": upload["upload_id"], "parts": parts},
        headers=headers,
        timeout=30,
    )
    assert done.status_code == 200, done.text
    assert stack.final_item(upload["video_id"])["status"] == "READY"


def _start(stack: Stack, headers: dict[str, str], size: int) -> dict:
    body = {"filename": "big.mp4", "content_type": "video/mp4", "size": size}
    started = requests.post(stack.url("/uploads"), json=body, headers=headers, timeout=10)
    assert started.status_code == 201, started.text
    return started.json()


def test_an_interrupted_upload_resumes_with_fresh_urls_and_completes_with_the_etags_s3_reports(
    stack: Stack, big_clip: Path
):
    headers = {"Authorization": f"Bearer {stack.forge.token('erin')}"}
    data = big_clip.read_bytes()
    # Given erin's multipart upload whose page reloaded before any part was sent (its URLs are lost)
    upload = _start(stack, headers, len(data))
    video_id, upload_id = upload["video_id"], upload["upload_id"]
    resume = stack.url(f"/uploads/{video_id}/parts")
    # When she asks to carry on, for fresh URLs for every part
    numbers = [p["part_number"] for p in upload["parts"]]
    answer = requests.post(resume, json={"upload_id": upload_id, "part_numbers": numbers}, headers=headers, timeout=10)
    # Then S3 has nothing yet, and she gets a URL per part, which S3 takes (from the website's origin: ETag readable)
    assert answer.status_code == 200, answer.text
    assert answer.json()["uploaded"] == [] and [p["part_number"] for p in answer.json()["parts"]] == numbers
    for part in answer.json()["parts"]:
        offset = (part["part_number"] - 1) * upload["part_size"]
        put = requests.put(part["url"], data=data[offset : offset + upload["part_size"]],
                           headers={"Origin": stack.web}, timeout=30)  # fmt: skip
        assert put.status_code == 200, put.text
        assert "ETag" in put.headers["Access-Control-Expose-Headers"]
        assert put.headers["Access-Control-Allow-Origin"] in ("*", stack.web)
    # And asking again says which parts S3 has, with the ETags that complete the upload
    again = requests.post(resume, json={"upload_id": upload_id}, headers=headers, timeout=10).json()
    assert [p["part_number"] for p in again["uploaded"]] == numbers and again["parts"] == []
    parts = [{"part_number": p["part_number"], "etag": p["etag"]} for p in again["uploaded"]]
    done = requests.post(stack.url(f"/uploads/{video_id}/complete"), json={"upload_id": upload_id, "parts": parts},
                         headers=headers, timeout=30)  # fmt: skip
    assert done.status_code == 200, done.text
    assert stack.final_item(video_id)["status"] == "READY"
    # And a completed upload has nothing left to resume
    assert requests.post(resume, json={"upload_id": upload_id}, headers=headers, timeout=10).status_code == 404


def test_a_cancelled_upload_leaves_nothing_and_cannot_be_completed(stack: Stack, big_clip: Path):
    headers = {"Authorization": f"Bearer {stack.forge.token('erin')}"}
    data = big_clip.read_bytes()
    # Given erin's multipart upload with its first part sent
    upload = _start(stack, headers, len(data))
    video_id, upload_id = upload["video_id"], upload["upload_id"]
    first = upload["parts"][0]
    etag = requests.put(first["url"], data=data[: upload["part_size"]], timeout=30).headers["ETag"]
    # When bob tries to cancel it, nothing happens; when she cancels it, it is gone
    bob = {"Authorization": f"Bearer {stack.forge.token('bob')}"}
    target = stack.url(f"/uploads/{video_id}")
    assert requests.delete(target, params={"upload_id": upload_id}, headers=bob, timeout=10).status_code == 404
    cancelled = requests.delete(target, params={"upload_id": upload_id}, headers=headers, timeout=10)
    assert cancelled.status_code == 204, cancelled.text
    # Then S3 has no upload in progress for it, and it can neither be completed nor cancelled again
    bucket = stack.name("upload", "UploadsBucket")
    in_progress = stack.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert upload_id not in [u["UploadId"] for u in in_progress]
    complete = {"upload_id": upload_id, "parts": [{"part_number": 1, "etag": etag}]}
    assert requests.post(f"{target}/complete", json=complete, headers=headers, timeout=10).status_code == 404
    assert requests.delete(target, params={"upload_id": upload_id}, headers=headers, timeout=10).status_code == 404
    keys = [o["Key"] for o in stack.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert not [key for key in keys if f"/{video_id}/" in key]


def test_the_demo_uploads_a_file_above_the_threshold_in_parts(stack: Stack, big_clip: Path):
    from devstack.demo import Client, upload

    # (make demo FILE=... and make bench-first-play upload through devstack.demo)
    api = stack.url("/uploads").removesuffix("/uploads")
    sent = upload(Client(api, stack.forge.token("erin")), big_clip)
    assert "multipart" in sent.key
    assert stack.final_item(sent.video_id)["status"] == "READY"
