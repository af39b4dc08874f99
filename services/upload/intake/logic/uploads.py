"""Uploads: the server chooses the key under the caller's own prefix, the file name is made safe, the size
is capped; a large file goes multipart, which its owner can resume (fresh part URLs, the parts S3 has), complete
or cancel; a deleted video's source is removed."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from contracts import UploadStarted, VideoDeleted, parse_upload_key, upload_key, upload_prefix
from contracts.api import (
    CompleteUpload,
    CreateUpload,
    MultipartUpload,
    PartUrl,
    ResumeUpload,
    UploadCompleted,
    UploadedPart,
    UploadForm,
    UploadParts,
)
from intake.logic.ports import (
    FormSigner,
    MultipartUploads,
    PartsRefused,
    Publisher,
    SourceObjects,
    UploadGone,
    UploadPlan,
)
from lambdakit.refusals import Conflict, Invalid, NotFound, TooLarge

FORM_EXPIRES_SECONDS = 600  # ten minutes
PART_URL_EXPIRES_SECONDS = 3600  # a large file needs longer than a form; each URL names one part of one upload
MIN_PART, MAX_PARTS = 8 * 1024**2, 10_000
_UNSAFE = re.compile(r"[^\w .()+-]", re.UNICODE)
NO_UPLOAD = "no upload in progress for this video"


@dataclass(frozen=True)
class UploadLimits:
    max_size: int
    multipart_threshold: int  # above this many bytes, a multipart upload instead of a form


@dataclass
class StartDeps:
    forms: FormSigner
    multipart: MultipartUploads
    limits: UploadLimits
    publisher: Publisher  # UploadStarted: the title as typed, for the catalog
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)


@dataclass
class CompleteDeps:
    multipart: MultipartUploads
    max_size: int


@dataclass
class DeleteDeps:
    sources: SourceObjects
    uploads_bucket: str


def safe_filename(name: str) -> str:
    """The last path segment, normalised, without control or special characters; never empty."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", "".join(c for c in name if unicodedata.category(c)[0] != "C"))
    name = re.sub(r"\s+", " ", name).strip(" .-_")
    return name[:200] or "video"


def part_size_for(size: int) -> int:
    """The smallest whole-MiB part size (at least 8 MiB) that fits the file in S3's 10,000 parts."""
    mib = 1024**2
    needed = -(-size // MAX_PARTS)
    return max(MIN_PART, -(-needed // mib) * mib)


def part_count(size: int, part_size: int) -> int:
    return -(-size // part_size)


def plan_upload(request: CreateUpload, *, owner: str, max_size: int, new_id: Callable[[], str]) -> UploadPlan:
    if request.size > max_size:
        raise Invalid(f"size {request.size} is over the maximum of {max_size} bytes")
    video_id = new_id()
    try:
        key = upload_key(owner, video_id, safe_filename(request.filename))
    except ValueError:
        raise Invalid("this account's user id cannot name an upload folder") from None
    return UploadPlan(video_id=video_id, key=key, content_type=request.content_type, size=request.size)


def start_upload(
    request: CreateUpload, *, owner: str, deps: StartDeps, correlation_id: str = ""
) -> UploadForm | MultipartUpload:
    """A form for a new video under the owner's prefix, or signed part URLs above the multipart threshold.

    UploadStarted (the file name as typed, the video's first title) is published before anything is signed: a
    failed publish is a 500 with nothing to upload to, so no video ever lacks its title."""
    limits = deps.limits
    plan = plan_upload(request, owner=owner, max_size=limits.max_size, new_id=deps.new_id)
    title = request.filename.strip() or plan.key.rsplit("/", 1)[-1]
    deps.publisher.publish(
        UploadStarted(correlation_id=correlation_id or plan.video_id, video_id=plan.video_id, owner=owner, title=title)
    )
    if plan.size > limits.multipart_threshold:
        part_size = part_size_for(plan.size)
        upload_id = deps.multipart.start(plan)
        numbers = range(1, part_count(plan.size, part_size) + 1)
        urls = deps.multipart.part_urls(plan.key, upload_id, numbers, PART_URL_EXPIRES_SECONDS)
        return MultipartUpload(
            video_id=plan.video_id,
            upload_id=upload_id,
            part_size=part_size,
            parts=[PartUrl(part_number=n, url=url) for n, url in zip(numbers, urls, strict=True)],
            expires_in=PART_URL_EXPIRES_SECONDS,
        )
    form = deps.forms.form(plan, max_size=limits.max_size, expires_in=FORM_EXPIRES_SECONDS)
    return UploadForm(
        video_id=plan.video_id,
        url=form.url,
        fields=form.fields,
        expires_in=FORM_EXPIRES_SECONDS,
        max_size=limits.max_size,
    )


def owned_upload(uploads: MultipartUploads, owner: str, video_id: str, upload_id: str) -> str:
    """The key of the owner's own multipart upload of this video, in progress; another user's looks like none."""
    try:
        prefix = upload_prefix(owner, video_id)
    except ValueError:
        raise NotFound(NO_UPLOAD) from None
    key = uploads.find(prefix, upload_id)
    if key is None:
        raise NotFound(NO_UPLOAD)
    return key


def resume_upload(video_id: str, request: ResumeUpload, *, owner: str, uploads: MultipartUploads) -> UploadParts:
    """What S3 has of the owner's own multipart upload of this video, and fresh signed URLs for the parts asked
    for: the upload carries on after a reload, a lost connection or expired URLs, without sending a part twice."""
    key = owned_upload(uploads, owner, video_id, request.upload_id)
    try:
        stored = uploads.parts(key, request.upload_id)
    except UploadGone:
        raise NotFound(NO_UPLOAD) from None  # completed or cancelled since it was found
    numbers = sorted(set(request.part_numbers))
    urls = uploads.part_urls(key, request.upload_id, numbers, PART_URL_EXPIRES_SECONDS)
    return UploadParts(
        video_id=video_id,
        upload_id=request.upload_id,
        uploaded=[UploadedPart(part_number=p.number, etag=p.etag, size=p.size) for p in stored],
        parts=[PartUrl(part_number=n, url=url) for n, url in zip(numbers, urls, strict=True)],
        expires_in=PART_URL_EXPIRES_SECONDS,
    )


def abort_upload(video_id: str, upload_id: str, *, owner: str, uploads: MultipartUploads) -> None:
    """Cancel the owner's own multipart upload of this video: S3 frees the parts, no video is made."""
    key = owned_upload(uploads, owner, video_id, upload_id)
    try:
        uploads.abort(key, upload_id)
    except UploadGone:
        raise NotFound(NO_UPLOAD) from None


def complete_upload(video_id: str, request: CompleteUpload, *, owner: str, deps: CompleteDeps) -> UploadCompleted:
    """Finish the owner's own multipart upload of this video, if its parts are within the maximum size."""
    uploads = deps.multipart
    key = owned_upload(uploads, owner, video_id, request.upload_id)
    try:
        uploaded = sum(part.size for part in uploads.parts(key, request.upload_id))
    except UploadGone:
        raise Conflict("the upload is no longer in progress (completed or cancelled meanwhile)") from None
    if uploaded > deps.max_size:
        with suppress(UploadGone):  # cancelled meanwhile: what matters is that it is gone
            uploads.abort(key, request.upload_id)
        raise TooLarge(f"the uploaded parts are over the maximum of {deps.max_size} bytes; the upload was cancelled")
    try:
        uploads.complete(key, request.upload_id, [(p.part_number, p.etag) for p in request.parts])
    except PartsRefused as refused:
        raise Invalid(f"S3 refused to complete the upload: {refused.code}") from None
    except UploadGone:
        raise Conflict("the upload is no longer in progress (completed or cancelled meanwhile)") from None
    return UploadCompleted(video_id=video_id)


def delete_source(event: VideoDeleted, deps: DeleteDeps) -> str | None:
    """Remove the object the deleted video was uploaded as; its key, or None when there is none of ours.

    Only ever that video's own key in this service's bucket: the event names the source,
    and the key must say it belongs to this video.
    """
    source = event.source
    if (
        source is None
        or source.bucket != deps.uploads_bucket
        or parse_upload_key(source.key).video_id != event.video_id
    ):
        return None
    deps.sources.delete(source.bucket, source.key)
    return source.key
