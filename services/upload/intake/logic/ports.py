"""What the upload logic needs from the outside world; adapters/ implements it with S3, tests fake it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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

    def part_urls(self, key: str, upload_id: str, count: int, expires_in: int) -> list[str]: ...

    def find(self, prefix: str, upload_id: str) -> str | None:
        """The key of the upload in progress with this id under `prefix`, if there is one."""
        ...

    def uploaded_bytes(self, key: str, upload_id: str) -> int: ...

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Assemble the parts (number, ETag); PartsRefused or UploadGone when S3 will not."""
        ...

    def abort(self, key: str, upload_id: str) -> None: ...


class SourceObjects(Protocol):
    def delete(self, bucket: str, key: str) -> None:
        """Remove the object; a key that is already gone is not an error."""
        ...
