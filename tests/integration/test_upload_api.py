"""POST /uploads against moto: the form's policy pins what the user may upload, and where."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.api import answer, api_event
from tests.integration.conftest import Aws, use_function_env

pytestmark = pytest.mark.service("upload")

VIDEO = {"filename": "My Holiday.final.mp4", "content_type": "video/mp4", "size": 10_000_000}


@pytest.fixture
def create_upload(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    from intake.handlers import create_upload

    use_function_env(monkeypatch, aws.topology.invocables["upload-createUpload"])
    return lambda event: answer(create_upload.handler(event, None))


@pytest.fixture
def complete_upload(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    from intake.handlers import complete_upload

    def call(sub: str, video_id: str, body: dict, **env: str) -> tuple[int, dict]:
        use_function_env(monkeypatch, aws.topology.invocables["upload-completeUpload"], **env)
        event = api_event("POST", f"/uploads/{video_id}/complete", sub=sub, body=body,
                          path_parameters={"video_id": video_id})  # fmt: skip
        return answer(complete_upload.handler(event, None))

    return call


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


def start_multipart(aws: Aws, monkeypatch: pytest.MonkeyPatch, create_upload, size: int, **env: str) -> dict:
    """A stage whose multipart threshold is 10 MB, and alice starting an upload of `size` bytes."""
    function = aws.topology.invocables["upload-createUpload"]
    use_function_env(monkeypatch, function, MULTIPART_THRESHOLD_BYTES="10000000", **env)
    status, started = create_upload(api_event("POST", "/uploads", sub="alice", body=VIDEO | {"size": size}))
    assert status == 201
    return started


def upload_parts(aws: Aws, started: dict, lengths: list[int]) -> tuple[str, list[dict]]:
    s3, bucket = aws.client("s3"), aws.name("upload", "UploadsBucket")
    [upload] = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    parts = []
    for number, length in enumerate(lengths, start=1):
        etag = s3.upload_part(Bucket=bucket, Key=upload["Key"], UploadId=started["upload_id"], PartNumber=number,
                              Body=b"v" * length)["ETag"]  # fmt: skip
        parts.append({"part_number": number, "etag": etag})
    return upload["Key"], parts


def test_above_the_threshold_a_multipart_upload_is_started_and_only_its_owner_completes_it(
    aws: Aws, create_upload, complete_upload, monkeypatch: pytest.MonkeyPatch
):
    size = 20 * 1024**2 + 5
    # When alice (on a stage whose multipart threshold is 10 MB) asks to upload 20 MiB
    started = start_multipart(aws, monkeypatch, create_upload, size)
    # Then she gets an upload id and one signed URL per 8 MiB part
    assert started["part_size"] == 8 * 1024**2 and len(started["parts"]) == 3
    assert all(f"partNumber={p['part_number']}" in p["url"] for p in started["parts"])
    # And after the parts are uploaded, bob cannot complete her upload, she can
    key, parts = upload_parts(aws, started, [8 * 1024**2, 8 * 1024**2, 4 * 1024**2 + 5])
    body = {"upload_id": started["upload_id"], "parts": parts}
    video_id = started["video_id"]
    assert complete_upload("bob", video_id, body)[0] == 404
    assert complete_upload("alice", "../x", body)[0] == 400
    assert complete_upload("alice", video_id, body) == (200, {"video_id": video_id})
    s3, bucket = aws.client("s3"), aws.name("upload", "UploadsBucket")
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == size
    assert key == f"uploads/alice/{video_id}/My Holiday.final.mp4"
    # And completing it again finds no upload in progress
    assert complete_upload("alice", video_id, body)[0] == 404


def test_parts_over_the_maximum_cancel_the_upload_with_a_413(
    aws: Aws, create_upload, complete_upload, monkeypatch: pytest.MonkeyPatch
):
    # Given alice started a 20 MiB multipart upload on a stage whose maximum is 30 MiB
    maximum = {"MAX_UPLOAD_BYTES": str(30 * 1024**2)}
    started = start_multipart(aws, monkeypatch, create_upload, 20 * 1024**2, **maximum)
    # When she uploads more than the maximum in parts (the signed part URLs cannot limit a part's size)
    _, parts = upload_parts(aws, started, [8 * 1024**2] * 4 + [1])
    body = {"upload_id": started["upload_id"], "parts": parts}
    status, error = complete_upload("alice", started["video_id"], body, **maximum)
    # Then the completion is refused as too large, and the upload is cancelled: no object, no upload in progress
    assert status == 413 and "maximum" in error["message"]
    s3, bucket = aws.client("s3"), aws.name("upload", "UploadsBucket")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert aws.keys(bucket) == []


def test_parts_s3_refuses_are_a_400_that_names_s3s_reason(
    aws: Aws, create_upload, complete_upload, monkeypatch: pytest.MonkeyPatch
):
    started = start_multipart(aws, monkeypatch, create_upload, 20 * 1024**2)
    _, parts = upload_parts(aws, started, [8 * 1024**2, 8 * 1024**2, 4 * 1024**2])
    wrong = [parts[0], {"part_number": 2, "etag": '"0123456789abcdef0123456789abcdef"'}, parts[2]]
    status, error = complete_upload("alice", started["video_id"], {"upload_id": started["upload_id"], "parts": wrong})
    assert status == 400 and "InvalidPart" in error["message"]
