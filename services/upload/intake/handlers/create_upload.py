"""POST /uploads -> a presigned POST form (or, above the single-POST limit, a multipart upload) for a new video."""

from __future__ import annotations

from contracts.api import CreateUpload, MultipartUpload, UploadForm
from intake import deps
from intake.logic.uploads import start_upload
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid


@route(status=201, body=CreateUpload, answers=UploadForm | MultipartUpload, refuses=(Invalid,))
def handler(request: Request[CreateUpload, None]) -> UploadForm | MultipartUpload:
    """Start an upload: a form to POST the file to S3, or signed part URLs for a large file."""
    return start_upload(request.body, owner=request.sub, deps=deps.create_upload(), correlation_id=request.request_id)
