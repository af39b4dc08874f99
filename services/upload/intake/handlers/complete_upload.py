"""POST /uploads/{video_id}/complete -> finish a multipart upload of the caller's own video."""

from __future__ import annotations

from contracts.api import CompleteUpload, UploadCompleted, UploadRef
from intake import deps
from intake.logic.uploads import complete_upload
from lambdakit.http import Request, route
from lambdakit.refusals import Conflict, Invalid, NotFound, TooLarge


@route(body=CompleteUpload, params=UploadRef, answers=UploadCompleted, refuses=(Invalid, NotFound, Conflict, TooLarge))
def handler(request: Request[CompleteUpload, UploadRef]) -> UploadCompleted:
    """Assemble the uploaded parts (only for the caller's own upload in progress, within the maximum size)."""
    return complete_upload(request.params.video_id, request.body, owner=request.sub, deps=deps.complete_upload())
