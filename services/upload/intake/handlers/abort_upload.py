"""DELETE /uploads/{video_id}?upload_id= -> cancel the caller's own multipart upload."""

from __future__ import annotations

from contracts.api import MultipartRef
from intake import deps
from intake.logic.uploads import abort_upload
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid, NotFound


@route(status=204, params=MultipartRef, refuses=(Invalid, NotFound))
def handler(request: Request[None, MultipartRef]) -> None:
    """Cancel one of my multipart uploads: S3 frees its parts and no video is made; 404 if none is in progress."""
    params = request.params
    abort_upload(params.video_id, params.upload_id, owner=request.sub, uploads=deps.abort_upload())
