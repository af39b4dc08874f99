"""POST /uploads against moto: the form's policy pins what the user may upload, and where."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.api import answer, api_event
from tests.integration.conftest import Aws, use_function_env

VIDEO = {"filename": "My Holiday.final.mp4", "content_type": "video/mp4", "size": 10_000_000}


@pytest.fixture
def create_upload(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    from intake.handlers import create_upload
    from intake.settings import get_settings

    use_function_env(monkeypatch, aws.topology.invocables["upload-createUpload"])
    caches = (get_settings, create_upload.get_forms, create_upload.get_multipart, create_upload._s3)
    for cached in caches:
        cached.cache_clear()
    yield lambda event: answer(create_upload.handler(event, None))
    for cached in caches:
        cached.cache_clear()


def policy_of(form: dict) -> dict:
    return json.loads(base64.b64decode(form["fields"]["policy"]))


def test_the_form_pins_key_bucket_type_and_size_and_expires_in_ten_minutes(aws: Aws, create_upload):
    # When alice asks for a form
    status, form = create_upload(api_event("POST", "/uploads", sub="alice-sub", body=VIDEO))
    # Then she gets a key under her own prefix, with a server-made video id and her (safe) file name
    assert status == 201
    key = form["fields"]["key"]
    assert key == f"uploads/alice-sub/{form['video_id']}/My Holiday.final.mp4"
    # And the signed policy pins exactly that key, the bucket, the content type and the size range
    policy = policy_of(form)
    conditions = policy["conditions"]
    assert {"key": key} in conditions
    assert {"bucket": aws.name("upload", "UploadsBucket")} in conditions
    assert {"Content-Type": "video/mp4"} in conditions
    assert ["content-length-range", 1, 5 * 1024**3] in conditions
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    assert form["expires_in"] <= 600


def test_a_user_cannot_choose_the_key_or_another_users_prefix(aws: Aws, create_upload):
    # When bob tries to name the key, or smuggles a path into the file name
    status, error = create_upload(
        api_event("POST", "/uploads", sub="bob", body=VIDEO | {"key": "uploads/alice/x/y.mp4"})
    )
    assert status == 400 and "key" in error["message"]
    status, form = create_upload(
        api_event("POST", "/uploads", sub="bob", body=VIDEO | {"filename": "../../alice/abc/evil.mp4"})
    )
    # Then the form is still for his own prefix, with only the last path segment as the name
    assert status == 201
    assert form["fields"]["key"] == f"uploads/bob/{form['video_id']}/evil.mp4"


BAD = {
    "no filename": ({k: v for k, v in VIDEO.items() if k != "filename"}, "filename"),
    "empty filename": (VIDEO | {"filename": ""}, "filename"),
    "not a video": (VIDEO | {"content_type": "application/pdf"}, "content_type"),
    "size 0": (VIDEO | {"size": 0}, "size"),
    "over the maximum": (VIDEO | {"size": 5 * 1024**3 + 1}, "maximum"),
}


@pytest.mark.parametrize(("body", "mentions"), BAD.values(), ids=BAD.keys())
def test_bad_requests_get_a_400_that_says_why(aws: Aws, create_upload, body, mentions):
    status, error = create_upload(api_event("POST", "/uploads", body=body))
    assert status == 400 and mentions in error["message"]


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_a_400(aws: Aws, create_upload, raw):
    status, error = create_upload(api_event("POST", "/uploads", raw_body=raw))
    assert status == 400 and "JSON object" in error["message"]


def test_without_the_authorizers_context_it_is_401(aws: Aws, create_upload):
    status, _ = create_upload(api_event("POST", "/uploads", sub=None, body=VIDEO))
    assert status == 401


def test_above_the_threshold_a_multipart_upload_is_started_and_only_its_owner_completes_it(
    aws: Aws, create_upload, monkeypatch: pytest.MonkeyPatch
):
    from intake.handlers import create_upload as module
    from intake.settings import get_settings

    # Given a stage whose multipart threshold is 10 MB
    monkeypatch.setenv("MULTIPART_THRESHOLD_BYTES", str(10_000_000))
    get_settings.cache_clear()
    size = 20 * 1024**2 + 5
    # When alice asks to upload 20 MiB
    status, started = create_upload(api_event("POST", "/uploads", sub="alice", body=VIDEO | {"size": size}))
    # Then she gets an upload id and one signed URL per 8 MiB part
    assert status == 201 and started["part_size"] == 8 * 1024**2 and len(started["parts"]) == 3
    assert all(f"partNumber={p['part_number']}" in p["url"] for p in started["parts"])
    # And after the parts are uploaded, bob cannot complete her upload, she can
    s3, bucket = aws.client("s3"), aws.name("upload", "UploadsBucket")
    [upload] = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    parts = []
    for number, length in ((1, 8 * 1024**2), (2, 8 * 1024**2), (3, 4 * 1024**2 + 5)):
        etag = s3.upload_part(Bucket=bucket, Key=upload["Key"], UploadId=started["upload_id"], PartNumber=number,
                              Body=b"v" * length)["ETag"]  # fmt: skip
        parts.append({"part_number": number, "etag": etag})
    body = {"upload_id": started["upload_id"], "parts": parts}

    def complete(sub: str, video_id: str = started["video_id"]):
        event = api_event("POST", f"/uploads/{video_id}/complete", sub=sub, body=body,
                          path_parameters={"video_id": video_id})  # fmt: skip
        return answer(module.complete_handler(event, None))

    assert complete("bob")[0] == 404
    assert complete("alice", "../x")[0] == 400
    assert complete("alice") == (200, {"video_id": started["video_id"]})
    assert s3.head_object(Bucket=bucket, Key=upload["Key"])["ContentLength"] == size
    assert upload["Key"] == f"uploads/alice/{started['video_id']}/My Holiday.final.mp4"
