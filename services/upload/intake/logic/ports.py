"""What the upload logic needs from the outside world; adapters/ implements it with S3, tests fake it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from contracts import UploadStarted


@dataclass(frozen=True)
class UploadPlan:
    """The object a user may create: a key of the server's choosing, its type and its declared size."""

    video_id: str
    key: str
    content_type: str
    size: int


@dataclass(frozen=True)
class SignedForm:
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class StoredPart:
    """A part S3 has of a multipart upload."""

    number: int
    etag: str
    size: int


class PartsRefused(Exception):
    """S3 would not assemble the parts (a wrong ETag, a part too small, parts out of order). `code` says which."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class UploadGone(Exception):
    """The multipart upload is no longer in progress (completed or aborted meanwhile)."""


class FormSigner(Protocol):
    def form(self, plan: UploadPlan, *, max_size: int, expires_in: int) -> SignedForm:
        """A presigned POST whose policy pins the bucket, the key, the content type and 1..max_size bytes."""
        ...


class MultipartUploads(Protocol):
    def start(self, plan: UploadPlan) -> str:
        """A new multipart upload for the plan's key; its upload id."""
        ...

    def part_urls(self, key: str, upload_id: str, numbers: Sequence[int], expires_in: int) -> list[str]:
        """A signed PUT URL for each part number, in the same order (signed locally: no request to S3)."""
        ...

    def find(self, prefix: str, upload_id: str) -> str | None:
        """The key of the upload in progress with this id under `prefix`, if there is one."""
        ...

    def parts(self, key: str, upload_id: str) -> list[StoredPart]:
        """The parts S3 has so far, by number; UploadGone when the upload is no longer in progress."""
        ...

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Assemble the parts (number, ETag); PartsRefused or UploadGone when S3 will not."""
        ...

    def abort(self, key: str, upload_id: str) -> None:
        """Cancel the upload and free its parts; UploadGone when it is no longer in progress."""
        ...


class SourceObjects(Protocol):
    def delete(self, bucket: str, key: str) -> None:
        """Remove the object; a key that is already gone is not an error."""
        ...


class Publisher(Protocol):
    def publish(self, event: UploadStarted) -> None:
        """Publish on the upload service's `upload-events` topic; raises when it could not."""
        ...
