"""POST /uploads -> a presigned POST form (or, above the single-POST limit, a multipart upload) for a new video.

POST /uploads/{video_id}/complete finishes a multipart upload of the caller's own video.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from contracts.api import CompleteUpload, CreateUpload, MultipartUpload, PartUrl, UploadForm
from contracts.keys import VIDEO_ID_RE
from intake.logic.forms import (
    FORM_EXPIRES_SECONDS,
    PART_URL_EXPIRES_SECONDS,
    UploadRefused,
    part_count,
    part_size_for,
    plan_upload,
)
from intake.settings import get_settings
from lambdakit.http import Caller, HttpError, api, body_as, json_response


@cache
def _s3() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(signature_version="s3v4"))


@cache
def get_forms() -> Any:
    from intake.adapters.s3forms import PresignedPosts

    return PresignedPosts(_s3(), get_settings().uploads_bucket)


@cache
def get_multipart() -> Any:
    from intake.adapters.s3forms import MultipartUploads

    return MultipartUploads(_s3(), get_settings().uploads_bucket)


@api
def handler(event: dict[str, Any], caller: Caller) -> dict[str, Any]:
    request = body_as(event, CreateUpload)
    settings = get_settings()
    try:
        plan = plan_upload(request, owner=caller.sub, max_size=settings.max_upload_bytes)
    except UploadRefused as exc:
        raise HttpError(400, str(exc)) from None
    if plan.size > settings.multipart_threshold_bytes:
        part_size = part_size_for(plan.size)
        upload_id = get_multipart().start(plan)
        urls = get_multipart().part_urls(
            plan.key, upload_id, part_count(plan.size, part_size), PART_URL_EXPIRES_SECONDS
        )
        body: Any = MultipartUpload(
            video_id=plan.video_id,
            upload_id=upload_id,
            part_size=part_size,
            parts=[PartUrl(part_number=n, url=url) for n, url in enumerate(urls, start=1)],
            expires_in=PART_URL_EXPIRES_SECONDS,
        )
        return json_response(201, body)
    form = get_forms().form(plan, max_size=settings.max_upload_bytes)
    body = UploadForm(
        video_id=plan.video_id,
        url=form["url"],
        fields=form["fields"],
        expires_in=FORM_EXPIRES_SECONDS,
        max_size=settings.max_upload_bytes,
    )
    return json_response(201, body)


@api
def complete_handler(event: dict[str, Any], caller: Caller) -> dict[str, Any]:
    video_id = (event.get("pathParameters") or {}).get("video_id", "")
    if not VIDEO_ID_RE.match(video_id):
        raise HttpError(400, "malformed video id")
    request = body_as(event, CompleteUpload)
    uploads = get_multipart()
    key = uploads.find(f"uploads/{caller.sub}/{video_id}/", request.upload_id)
    if key is None:
        raise HttpError(404, "no upload in progress for this video")
    if uploads.uploaded_bytes(key, request.upload_id) > get_settings().max_upload_bytes:
        uploads.abort(key, request.upload_id)
        raise HttpError(400, "the uploaded parts are over the maximum size; the upload was cancelled")
    try:
        uploads.complete(key, request.upload_id, [(p.part_number, p.etag) for p in request.parts])
    except ClientError as exc:
        raise HttpError(
            400, f"S3 refused to complete the upload: {exc.response.get('Error', {}).get('Code')}"
        ) from None
    return json_response(200, {"video_id": video_id})
