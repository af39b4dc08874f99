"""The upload logic with in-memory S3 stand-ins: keys under the caller's prefix, safe names, size caps,
multipart above the threshold, completion only of one's own upload, deletion of only that video's source."""

from __future__ import annotations

import pytest

from contracts import SourceObject, VideoDeleted
from contracts.api import CompletedPart, CompleteUpload, CreateUpload, MultipartUpload, UploadForm
from intake.logic.ports import PartsRefused, SignedForm, UploadGone, UploadPlan
from intake.logic.uploads import (
    CompleteDeps,
    DeleteDeps,
    StartDeps,
    UploadLimits,
    complete_upload,
    delete_source,
    plan_upload,
    safe_filename,
    start_upload,
)
from lambdakit.refusals import Conflict, Invalid, NotFound, TooLarge

pytestmark = pytest.mark.service("upload")

VIDEO_ID = "0123456789abcdef"


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("My Holiday.final.mp4", "My Holiday.final.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\clip.mov", "clip.mov"),
        ("vidéo 日本.mp4", "vidéo 日本.mp4"),
        ("$(id).mp4", "(id).mp4"),
        ("-rf.mp4", "rf.mp4"),
        ("a\x00b\nc.mp4", "abc.mp4"),
        ("...", "video"),
        ("x" * 300 + ".mp4", "x" * 200),
    ],
)
def test_safe_filename(given: str, safe: str):
    assert safe_filename(given) == safe


def _request(size: int = 10, filename: str = "a.mp4") -> CreateUpload:
    return CreateUpload(filename=filename, content_type="video/mp4", size=size)


def test_the_key_is_the_owners_prefix_and_a_new_id():
    plan = plan_upload(_request(), owner="sub-1", max_size=100, new_id=lambda: VIDEO_ID)
    assert plan.key == f"uploads/sub-1/{VIDEO_ID}/a.mp4"


def test_over_the_maximum_is_refused():
    with pytest.raises(Invalid, match="maximum"):
        plan_upload(_request(size=101), owner="o", max_size=100, new_id=lambda: VIDEO_ID)


def test_an_owner_that_cannot_name_a_folder_is_refused():
    with pytest.raises(Invalid):
        plan_upload(_request(), owner="a/b", max_size=100, new_id=lambda: VIDEO_ID)


class FakeForms:
    def form(self, plan: UploadPlan, *, max_size: int, expires_in: int) -> SignedForm:
        return SignedForm(url="https://bucket", fields={"key": plan.key, "max": str(max_size), "ttl": str(expires_in)})


class FakeMultipart:
    def __init__(self) -> None:
        self.uploads: dict[str, tuple[str, int]] = {}  # upload id -> (key, bytes uploaded)
        self.completed: list[tuple[str, list[tuple[int, str]]]] = []
        self.aborted: list[str] = []
        self.refuse: Exception | None = None

    def start(self, plan: UploadPlan) -> str:
        self.uploads["up-1"] = (plan.key, 0)
        return "up-1"

    def part_urls(self, key: str, upload_id: str, count: int, expires_in: int) -> list[str]:
        return [f"https://bucket/{key}?part={n}" for n in range(1, count + 1)]

    def find(self, prefix: str, upload_id: str) -> str | None:
        key = self.uploads.get(upload_id, ("", 0))[0]
        return key if key.startswith(prefix) and key else None

    def uploaded_bytes(self, key: str, upload_id: str) -> int:
        return self.uploads[upload_id][1]

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        if self.refuse:
            raise self.refuse
        self.completed.append((key, parts))
        del self.uploads[upload_id]

    def abort(self, key: str, upload_id: str) -> None:
        self.aborted.append(upload_id)
        del self.uploads[upload_id]


def _start(size: int, multipart: FakeMultipart | None = None) -> UploadForm | MultipartUpload:
    deps = StartDeps(FakeForms(), multipart or FakeMultipart(), UploadLimits(10**9, 50 * 1024**2), lambda: VIDEO_ID)
    return start_upload(_request(size=size), owner="alice", deps=deps)


def test_at_or_below_the_threshold_a_form_is_given():
    answer = _start(50 * 1024**2)
    assert isinstance(answer, UploadForm)
    assert answer.fields["key"] == f"uploads/alice/{VIDEO_ID}/a.mp4" and answer.expires_in == 600
    assert answer.max_size == 10**9


def test_above_the_threshold_the_parts_fit_in_10000_of_at_least_8_mib():
    answer = _start(100 * 1024**3 // 1000)  # 100 GiB / 1000: 12.8 parts of 8 MiB
    assert isinstance(answer, MultipartUpload)
    assert answer.part_size == 8 * 1024**2 and len(answer.parts) == 13
    assert [p.part_number for p in answer.parts] == list(range(1, 14))


def _completing(uploaded: int, key: str = f"uploads/alice/{VIDEO_ID}/a.mp4") -> tuple[FakeMultipart, CompleteDeps]:
    multipart = FakeMultipart()
    multipart.uploads["up-1"] = (key, uploaded)
    return multipart, CompleteDeps(multipart, max_size=1000)


COMPLETE = CompleteUpload(upload_id="up-1", parts=[CompletedPart(part_number=1, etag='"e1"')])


def test_the_owner_completes_her_upload():
    multipart, deps = _completing(1000)
    assert complete_upload(VIDEO_ID, COMPLETE, owner="alice", deps=deps).video_id == VIDEO_ID
    assert multipart.completed == [(f"uploads/alice/{VIDEO_ID}/a.mp4", [(1, '"e1"')])]


@pytest.mark.parametrize(("owner", "video_id"), [("bob", VIDEO_ID), ("alice", "fedcba9876543210"), ("a/b", VIDEO_ID)])
def test_anyone_else_or_another_video_finds_no_upload(owner: str, video_id: str):
    multipart, deps = _completing(1000)
    with pytest.raises(NotFound):
        complete_upload(video_id, COMPLETE, owner=owner, deps=deps)
    assert multipart.completed == []


def test_parts_over_the_maximum_cancel_the_upload():
    multipart, deps = _completing(1001)
    with pytest.raises(TooLarge):
        complete_upload(VIDEO_ID, COMPLETE, owner="alice", deps=deps)
    assert multipart.aborted == ["up-1"] and multipart.completed == []


@pytest.mark.parametrize(("error", "refusal"), [(PartsRefused("InvalidPart"), Invalid), (UploadGone("up-1"), Conflict)])
def test_what_s3_refuses_becomes_the_logics_refusal(error: Exception, refusal: type[Exception]):
    multipart, deps = _completing(10)
    multipart.refuse = error
    with pytest.raises(refusal):
        complete_upload(VIDEO_ID, COMPLETE, owner="alice", deps=deps)


class FakeSources:
    def __init__(self) -> None:
        self.deleted: list[tuple[str, str]] = []

    def delete(self, bucket: str, key: str) -> None:
        self.deleted.append((bucket, key))


def _deleted(source: SourceObject | None) -> VideoDeleted:
    return VideoDeleted(correlation_id="c", video_id=VIDEO_ID, owner="alice", source=source)


@pytest.mark.parametrize(
    "source",
    [
        None,
        SourceObject(bucket="someone-elses", key=f"uploads/alice/{VIDEO_ID}/a.mp4", version="e"),
        SourceObject(bucket="uploads", key="uploads/alice/fedcba9876543210/a.mp4", version="e"),
        SourceObject(bucket="uploads", key="elsewhere/a.mp4", version="e"),
    ],
    ids=["no source", "another bucket", "another video's key", "a key outside the layout"],
)
def test_only_that_videos_own_source_in_our_bucket_is_deleted(source: SourceObject | None):
    sources = FakeSources()
    assert delete_source(_deleted(source), DeleteDeps(sources, uploads_bucket="uploads")) is None
    assert sources.deleted == []


def test_the_source_is_deleted():
    sources = FakeSources()
    key = f"uploads/alice/{VIDEO_ID}/a.mp4"
    source = SourceObject(bucket="uploads", key=key, version="e")
    assert delete_source(_deleted(source), DeleteDeps(sources, uploads_bucket="uploads")) == key
    assert sources.deleted == [("uploads", key)]
