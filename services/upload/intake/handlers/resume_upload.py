"""POST /uploads/{video_id}/parts -> the parts S3 has of the caller's multipart upload, and fresh part URLs."""

from __future__ import annotations

from contracts.api import ResumeUpload, UploadParts, UploadRef
from intake import deps
from intake.logic.uploads import resume_upload
from lambdakit.http import Request, route
from lambdakit.refusals import Invalid, NotFound


@route(body=ResumeUpload, params=UploadRef, answers=UploadParts, refuses=(Invalid, NotFound))
def handler(request: Request[ResumeUpload, UploadRef]) -> UploadParts:
    """Carry on with one of my multipart uploads: the parts S3 has, and fresh signed URLs for the parts asked for."""
    return resume_upload(request.params.video_id, request.body, owner=request.sub, uploads=deps.resume_upload())
