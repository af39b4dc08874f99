"""The upload routes against moto: the form's policy pins what the user may upload, and where; a multipart
upload is resumed, completed or cancelled only by its owner."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

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


@pytest.fixture
def resume_upload(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    from intake.handlers import resume_upload

    def call(sub: str, video_id: str, body: dict) -> tuple[int, dict]:
        use_function_env(monkeypatch, aws.topology.invocables["upload-resumeUpload"])
        event = api_event("POST", f"/uploads/{video_id}/parts", sub=sub, body=body,
                          path_parameters={"video_id": video_id})  # fmt: skip
        return answer(resume_upload.handler(event, None))

    return call


@pytest.fixture
def abort_upload(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    from intake.handlers import abort_upload

    def call(sub: str, video_id: str, query: dict[str, str]) -> tuple[int, dict | None]:
        use_function_env(monkeypatch, aws.topology.invocables["upload-abortUpload"])
        event = api_event("DELETE", f"/uploads/{video_id}", sub=sub, query=query,
                          path_parameters={"video_id": video_id})  # fmt: skip
        return answer(abort_upload.handler(event, None))

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


def test_the_owner_resumes_her_upload_with_the_parts_s3_has_and_fresh_urls_then_completes_it(
    aws: Aws, create_upload, resume_upload, complete_upload, monkeypatch: pytest.MonkeyPatch
):
    # Given alice's 20 MiB multipart upload, of which only the first part reached S3 before her page reloaded
    started = start_multipart(aws, monkeypatch, create_upload, 20 * 1024**2)
    video_id, upload_id = started["video_id"], started["upload_id"]
    s3, bucket = aws.client("s3"), aws.name("upload", "UploadsBucket")
    [upload] = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    first = s3.upload_part(Bucket=bucket, Key=upload["Key"], UploadId=upload_id, PartNumber=1,
                           Body=b"v" * 8 * 1024**2)["ETag"]  # fmt: skip
    # When she asks to carry on, with fresh URLs for the two parts still to send
    status, resumed = resume_upload("alice", video_id, {"upload_id": upload_id, "part_numbers": [3, 2]})
    # Then she learns what S3 has, and gets a URL per missing part, signed for her upload's key, for an hour
    assert status == 200
    assert resumed["uploaded"] == [{"part_number": 1, "etag": first, "size": 8 * 1024**2}]
    assert [p["part_number"] for p in resumed["parts"]] == [2, 3] and resumed["expires_in"] == 3600
    for part in resumed["parts"]:
        query = parse_qs(urlsplit(part["url"]).query)
        assert query["partNumber"] == [str(part["part_number"])] and query["uploadId"] == [upload_id]
        assert urlsplit(part["url"]).path.endswith(quote(upload["Key"]))
        assert 0 < int(query["X-Amz-Expires"][0]) <= 3600
    # And bob, another video id or another upload id find nothing
    assert resume_upload("bob", video_id, {"upload_id": upload_id})[0] == 404
    assert resume_upload("alice", "fedcba9876543210", {"upload_id": upload_id})[0] == 404
    assert resume_upload("alice", video_id, {"upload_id": "not-this-one"})[0] == 404
    # And what she sends wrong is a 400
    for bad in ({"upload_id": upload_id, "part_numbers": [0]}, {"upload_id": upload_id, "part_numbers": [10001]},
                {"upload_id": upload_id, "part_numbers": list(range(1, 1002))},
                {"part_numbers": [1]}, {"upload_id": upload_id, "parts": []}):  # fmt: skip
        assert resume_upload("alice", video_id, bad)[0] == 400, bad
    # When the rest is sent, the ETags S3 reports complete the upload
    for number, length in ((2, 8 * 1024**2), (3, 4 * 1024**2)):
        s3.upload_part(Bucket=bucket, Key=upload["Key"], UploadId=upload_id, PartNumber=number, Body=b"v" * length)
    _, now = resume_upload("alice", video_id, {"upload_id": upload_id})
    parts = [{"part_number": p["part_number"], "etag": p["etag"]} for p in now["uploaded"]]
    assert [p["part_number"] for p in parts] == [1, 2, 3] and now["parts"] == []
    assert complete_upload("alice", video_id, {"upload_id": upload_id, "parts": parts})[0] == 200
    # And once completed there is nothing to resume: a clear 404
    status, error = resume_upload("alice", video_id, {"upload_id": upload_id})
    assert status == 404 and "no upload in progress" in error["message"]


def test_the_owner_cancels_her_upload_and_nobody_else_can(
    aws: Aws, create_upload, abort_upload, monkeypatch: pytest.MonkeyPatch
):
    # Given alice's multipart upload with one part in S3
    started = start_multipart(aws, monkeypatch, create_upload, 20 * 1024**2)
    video_id, upload_id = started["video_id"], started["upload_id"]
    upload_parts(aws, started, [8 * 1024**2])
    s3, bucket = aws.client("s3"), aws.name("upload", "UploadsBucket")
    # When bob tries to cancel it, or alice forgets the upload id or names another video
    assert abort_upload("bob", video_id, {"upload_id": upload_id})[0] == 404
    assert abort_upload("alice", "fedcba9876543210", {"upload_id": upload_id})[0] == 404
    status, error = abort_upload("alice", video_id, {})
    assert status == 400 and "upload_id" in error["message"]
    # Then it is still in progress
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])] == [upload_id]
    # When alice cancels it
    assert abort_upload("alice", video_id, {"upload_id": upload_id}) == (204, None)
    # Then S3 has no upload in progress and no object; cancelling again finds nothing
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert aws.keys(bucket) == []
    assert abort_upload("alice", video_id, {"upload_id": upload_id})[0] == 404
