"""The upload logic with in-memory S3 stand-ins: keys under the caller's prefix, safe names, size caps,
multipart above the threshold, resuming, completion and cancelling only of one's own upload, deletion of only
that video's source."""

from __future__ import annotations

import pytest

from contracts import SourceObject, VideoDeleted
from contracts.api import CompletedPart, CompleteUpload, CreateUpload, MultipartUpload, ResumeUpload, UploadForm
from intake.logic.ports import PartsRefused, SignedForm, StoredPart, UploadGone, UploadPlan
from intake.logic.uploads import (
    CompleteDeps,
    DeleteDeps,
    StartDeps,
    UploadLimits,
    abort_upload,
    complete_upload,
    delete_source,
    plan_upload,
    resume_upload,
    safe_filename,
    start_upload,
)
from lambdakit.refusals import Conflict, Invalid, NotFound, TooLarge
from tests.unit.fakes import FakePublisher

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
        self.uploads: dict[str, tuple[str, list[StoredPart]]] = {}  # upload id -> (key, the parts S3 has)
        self.completed: list[tuple[str, list[tuple[int, str]]]] = []
        self.aborted: list[str] = []
        self.signed: list[tuple[str, list[int], int]] = []  # (key, part numbers, expires in)
        self.refuse: Exception | None = None
        self.vanishes = False  # completed or cancelled by another request right after `find`

    def start(self, plan: UploadPlan) -> str:
        self.uploads["up-1"] = (plan.key, [])
        return "up-1"

    def part_urls(self, key: str, upload_id: str, numbers, expires_in: int) -> list[str]:
        self.signed.append((key, list(numbers), expires_in))
        return [f"https://bucket/{key}?part={n}" for n in numbers]

    def find(self, prefix: str, upload_id: str) -> str | None:
        key = self.uploads.get(upload_id, ("", []))[0]
        return key if key.startswith(prefix) and key else None

    def _in_progress(self, upload_id: str) -> list[StoredPart]:
        if self.vanishes or upload_id not in self.uploads:
            raise UploadGone(upload_id)
        return self.uploads[upload_id][1]

    def parts(self, key: str, upload_id: str) -> list[StoredPart]:
        return list(self._in_progress(upload_id))

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        if self.refuse:
            raise self.refuse
        self.completed.append((key, parts))
        del self.uploads[upload_id]

    def abort(self, key: str, upload_id: str) -> None:
        self._in_progress(upload_id)
        self.aborted.append(upload_id)
        del self.uploads[upload_id]


def _start(size: int, multipart: FakeMultipart | None = None) -> UploadForm | MultipartUpload:
    limits = UploadLimits(10**9, 50 * 1024**2)
    deps = StartDeps(FakeForms(), multipart or FakeMultipart(), limits, FakePublisher(), lambda: VIDEO_ID)
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


KEY = f"uploads/alice/{VIDEO_ID}/a.mp4"


def _completing(uploaded: int, key: str = KEY) -> tuple[FakeMultipart, CompleteDeps]:
    multipart = FakeMultipart()
    multipart.uploads["up-1"] = (key, [StoredPart(1, '"e1"', uploaded)])
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


def test_an_upload_that_goes_while_being_completed_is_a_conflict():
    multipart, deps = _completing(10)
    multipart.vanishes = True
    with pytest.raises(Conflict):
        complete_upload(VIDEO_ID, COMPLETE, owner="alice", deps=deps)
    assert multipart.completed == []


def _in_progress(*parts: StoredPart) -> FakeMultipart:
    multipart = FakeMultipart()
    multipart.uploads["up-1"] = (KEY, list(parts))
    return multipart


def test_resuming_gives_the_parts_s3_has_and_fresh_urls_for_the_parts_asked_for():
    # Given alice's upload, of which S3 has parts 1 and 3
    multipart = _in_progress(StoredPart(1, '"e1"', 8), StoredPart(3, '"e3"', 5))
    # When she asks to carry on, with fresh URLs for parts 4 and 2 (one of them twice)
    request = ResumeUpload(upload_id="up-1", part_numbers=[4, 2, 4])
    answer = resume_upload(VIDEO_ID, request, owner="alice", uploads=multipart)
    # Then she gets the parts S3 has, with their ETags and sizes, and one URL per part number, in order
    assert [(p.part_number, p.etag, p.size) for p in answer.uploaded] == [(1, '"e1"', 8), (3, '"e3"', 5)]
    assert [(p.part_number, p.url) for p in answer.parts] == [(2, f"https://bucket/{KEY}?part=2"),
                                                             (4, f"https://bucket/{KEY}?part=4")]  # fmt: skip
    assert (answer.video_id, answer.upload_id, answer.expires_in) == (VIDEO_ID, "up-1", 3600)
    # And the URLs are signed for her upload's own key, for an hour
    assert multipart.signed == [(KEY, [2, 4], 3600)]


def test_resuming_without_part_numbers_only_says_what_s3_has():
    multipart = _in_progress(StoredPart(1, '"e1"', 8))
    answer = resume_upload(VIDEO_ID, ResumeUpload(upload_id="up-1"), owner="alice", uploads=multipart)
    assert [p.part_number for p in answer.uploaded] == [1] and answer.parts == []


@pytest.mark.parametrize(
    ("owner", "video_id", "upload_id"),
    [("bob", VIDEO_ID, "up-1"), ("alice", "fedcba9876543210", "up-1"), ("alice", VIDEO_ID, "up-2"),
     ("a/b", VIDEO_ID, "up-1")],
    ids=["another user", "another video", "another upload", "an owner no key can name"],
)  # fmt: skip
def test_only_the_owner_resumes_or_cancels_her_upload(owner: str, video_id: str, upload_id: str):
    multipart = _in_progress(StoredPart(1, '"e1"', 8))
    with pytest.raises(NotFound, match="no upload in progress"):
        resume_upload(video_id, ResumeUpload(upload_id=upload_id, part_numbers=[2]), owner=owner, uploads=multipart)
    with pytest.raises(NotFound, match="no upload in progress"):
        abort_upload(video_id, upload_id, owner=owner, uploads=multipart)
    assert multipart.signed == [] and multipart.aborted == [] and "up-1" in multipart.uploads


def test_an_upload_gone_since_it_was_found_is_not_found_for_resuming_or_cancelling():
    multipart = _in_progress()
    multipart.vanishes = True
    with pytest.raises(NotFound):
        resume_upload(VIDEO_ID, ResumeUpload(upload_id="up-1", part_numbers=[1]), owner="alice", uploads=multipart)
    with pytest.raises(NotFound):
        abort_upload(VIDEO_ID, "up-1", owner="alice", uploads=multipart)
    assert multipart.signed == []


def test_the_owner_cancels_her_upload_and_then_there_is_nothing_left_to_cancel():
    multipart = _in_progress(StoredPart(1, '"e1"', 8))
    abort_upload(VIDEO_ID, "up-1", owner="alice", uploads=multipart)
    assert multipart.aborted == ["up-1"] and multipart.uploads == {}
    with pytest.raises(NotFound):
        abort_upload(VIDEO_ID, "up-1", owner="alice", uploads=multipart)


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
