"""POST /uploads -> a presigned POST form for a new video, under the caller's own prefix."""

from __future__ import annotations

from functools import cache
from typing import Any

from contracts.api import CreateUpload, UploadForm
from intake.logic.forms import FORM_EXPIRES_SECONDS, UploadRefused, plan_upload
from intake.settings import get_settings
from lambdakit.http import Caller, HttpError, api, body_as, json_response


@cache
def get_forms() -> Any:
    import boto3

    from intake.adapters.s3forms import PresignedPosts

    return PresignedPosts(boto3.client("s3"), get_settings().uploads_bucket)


@api
def handler(event: dict[str, Any], caller: Caller) -> dict[str, Any]:
    request = body_as(event, CreateUpload)
    max_size = get_settings().max_upload_bytes
    try:
        plan = plan_upload(request, owner=caller.sub, max_size=max_size)
    except UploadRefused as exc:
        raise HttpError(400, str(exc)) from None
    form = get_forms().form(plan, max_size=max_size)
    body = UploadForm(
        video_id=plan.video_id,
        url=form["url"],
        fields=form["fields"],
        expires_in=FORM_EXPIRES_SECONDS,
        max_size=max_size,
    )
    return json_response(201, body)
