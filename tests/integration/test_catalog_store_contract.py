"""The catalog table's contract: the same scenarios against the unit tests' FakeCatalog and DynamoCatalog (with
OwnerIndexQuery) on moto, so the fake cannot drift from the adapter.

One table for the module, made from the metadata service's serverless.yml; each test uses ids of its own.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from catalog.adapters.dynamo import DynamoCatalog, OwnerIndexQuery, PublicIndexQuery, from_dynamo, to_dynamo
from catalog.logic.items import VideoItem
from catalog.logic.ports import CatalogStore, OwnerIndex, PublicIndex, Rank, Status
from catalog.logic.records import (
    CatalogDeps,
    UploadDeps,
    record_failed,
    record_progress,
    record_transcoded,
    record_upload,
)
from catalog.logic.views import DeleteDeps, ListDeps, decode_cursor, delete_video, encode_cursor, list_videos
from contracts import ChunkRef, S3EventRecord, upload_of
from contracts.api import PageQuery
from infra import LOCAL_CREDENTIALS, load
from tests.unit import shapes
from tests.unit.fakes import FakeCatalog, FakeProber, FakePublicIndex, FakePublisher, FakeSigner

pytestmark = pytest.mark.service("metadata")

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FIRST = {"title": "clip.mp4", "created_at": "2026-11-28T12:00:00+00:00", "owner": "alice"}


@pytest.fixture(scope="module")
def dynamo_table() -> Iterator[Any]:
    """The catalog table as the metadata service declares it, in moto, for the whole module."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in LOCAL_CREDENTIALS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        topology = load("test")
        name = topology.physical("metadata", "CatalogTable")
        spec = next(table for table in topology.tables if table["TableName"] == name)
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(**{k: v for k, v in spec.items() if k != "TimeToLiveSpecification"})
            yield boto3.resource("dynamodb", region_name="us-east-1").Table(name)


@dataclass
class Table:
    """One implementation of the catalog's ports, and a look at (and a way to seed) what it stores."""

    name: str
    catalog: CatalogStore
    index: OwnerIndex
    stored: Callable[[str], dict[str, Any] | None]  # the item's attributes as JSON values; None if there is none
    seed: Callable[[dict[str, Any]], None]  # write an item as it stands (one an older version wrote)
    public: PublicIndex


def _fake() -> Table:
    fake = FakeCatalog()

    def seed(item: dict[str, Any]) -> None:
        fake.items[item["video_id"]] = copy.deepcopy(item)

    stored = lambda video_id: fake.stored(video_id) if video_id in fake.items else None  # noqa: E731
    return Table("fake", fake, fake, stored, seed, FakePublicIndex(fake))


def _dynamo(table: Any) -> Table:
    def stored(video_id: str) -> dict[str, Any] | None:
        item = table.get_item(Key={"video_id": video_id}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    return Table(
        "dynamodb",
        DynamoCatalog(table),
        OwnerIndexQuery(table),
        stored,
        lambda item: table.put_item(Item=to_dynamo(item)),
        PublicIndexQuery(table),
    )


@pytest.fixture(params=["fake", "dynamodb"])
def table(request: pytest.FixtureRequest) -> Table:
    return _fake() if request.param == "fake" else _dynamo(request.getfixturevalue("dynamo_table"))


def new_id() -> str:
    return uuid.uuid4().hex


def item_of(table: Table, video_id: str) -> VideoItem:
    item = table.catalog.get(video_id)
    assert item is not None, f"{table.name}: no item {video_id}"
    return item


# --- record an upload -------------------------------------------------------------------------------------------


def test_an_upload_creates_the_item_uploaded_and_a_repeat_only_fills_what_is_missing(table: Table) -> None:
    # Given a new video
    video_id = new_id()

    # When its upload is noted, then noted again with other first values and a new latest value
    created = table.catalog.note_upload(video_id, FIRST | {"uploaded_at": "t1"})
    again = table.catalog.note_upload(
        video_id, {"title": "other.mp4", "correlation_id": "r2"}, latest={"uploaded_at": "t2"}
    )

    # Then both writes happened; the first values are the first ones, the latest value is the newest
    assert (created, again) == (True, True)
    item = item_of(table, video_id)
    assert (item.status, item.status_rank, item.rank) == (Status.UPLOADED, Rank.UPLOADED, Rank.UPLOADED)
    assert (item.title, item.owner, item.created_at, item.correlation_id) == (
        "clip.mp4",
        "alice",
        FIRST["created_at"],
        "r2",
    )
    assert item.uploaded_at == "t2"
    assert table.stored(video_id) == {"video_id": video_id, **FIRST, "uploaded_at": "t2", "correlation_id": "r2",
                                      "status": "UPLOADED", "status_rank": 1}  # fmt: skip


def test_only_the_newest_write_of_the_upload_key_is_the_source(table: Table) -> None:
    # Given a video whose upload key was written at sequence "0002"
    video_id = new_id()
    assert table.catalog.note_upload(video_id, FIRST, latest={"uploaded_at": "second"}, sequence="0002")

    # When the events of an older write, the same one, and a newer one arrive
    older = table.catalog.note_upload(video_id, FIRST, latest={"uploaded_at": "first"}, sequence="0001")
    same = table.catalog.note_upload(video_id, FIRST, latest={"uploaded_at": "again"}, sequence="0002")
    after_older = item_of(table, video_id).uploaded_at
    newer = table.catalog.note_upload(video_id, FIRST, latest={"uploaded_at": "third"}, sequence="0003")

    # Then only the newer one is written
    assert (older, same, newer) == (False, False, True)
    assert after_older == "second"
    item = item_of(table, video_id)
    assert (item.uploaded_at, item.upload_sequence, item.status) == ("third", "0003", Status.UPLOADED)


# --- status moves forward only ----------------------------------------------------------------------------------


def test_status_moves_up_the_ranks_and_a_duplicate_or_late_status_changes_nothing(table: Table) -> None:
    # Given an uploaded video
    video_id = new_id()
    table.catalog.note_upload(video_id, FIRST)

    # When it goes PROCESSING, PROCESSING again, READY, then a late FAILED and a late PROCESSING arrive
    moves = [
        table.catalog.advance(video_id, Status.PROCESSING, {"transcoded_at": "t1"}, FIRST),
        table.catalog.advance(video_id, Status.PROCESSING, {"transcoded_at": "t2"}, FIRST),
        table.catalog.advance(video_id, Status.READY, {"ready_at": "t3", "metadata_seconds": 0.25}, FIRST),
        table.catalog.advance(video_id, Status.FAILED, {"failure": {"code": "NO_VIDEO_STREAM"}}, FIRST),
        table.catalog.advance(video_id, Status.PROCESSING, {"transcoded_at": "t4"}, FIRST),
    ]

    # Then only the moves up happened, and a refused move wrote none of its values
    assert moves == [True, False, True, False, False]
    item = item_of(table, video_id)
    assert (item.status, item.status_rank) == (Status.READY, Rank.READY)
    assert (item.transcoded_at, item.ready_at, item.metadata_seconds, item.failure) == ("t1", "t3", 0.25, None)
    assert "failure" not in (table.stored(video_id) or {})


def test_a_status_event_before_the_upload_creates_the_item_with_its_first_values(table: Table) -> None:
    # Given no item yet (the transcoder's event overtook the upload's)
    video_id = new_id()

    # When the video fails, and then its upload is noted
    failed = table.catalog.advance(
        video_id, Status.FAILED, {"failure": {"code": "NO_VIDEO_STREAM"}, "failed_at": "t1"}, FIRST
    )
    noted = table.catalog.note_upload(video_id, FIRST | {"title": "late.mp4"}, latest={"uploaded_at": "t0"})

    # Then the item is FAILED, with the first event's first values and the upload's latest value
    assert (failed, noted) == (True, True)
    item = item_of(table, video_id)
    assert (item.status, item.rank, item.title, item.uploaded_at) == (Status.FAILED, Rank.FAILED, "clip.mp4", "t0")
    assert item.failure is not None and item.failure.code == "NO_VIDEO_STREAM" and item.failure.chunk is None


def test_ready_beats_failed_and_keeps_the_earlier_failure_in_the_item(table: Table) -> None:
    # Given a video that FAILED on a chunk
    video_id = new_id()
    chunk = {"index": 3, "start_seconds": 12.0, "end_seconds": 16.5}
    table.catalog.advance(
        video_id, Status.FAILED, {"failure": {"code": "TRANSCODE_FAILED", "reason": "x", "chunk": chunk}}, FIRST
    )

    # When its redriven workflow succeeds
    moved = table.catalog.advance(video_id, Status.READY, {"ready_at": "t2"}, FIRST)

    # Then it is READY, and the failure is still stored, chunk and all
    assert moved is True
    item = item_of(table, video_id)
    assert (item.status, item.rank) == (Status.READY, Rank.READY)
    assert item.failure is not None and item.failure.chunk is not None
    assert (item.failure.code, item.failure.chunk.index, item.failure.chunk.end_seconds) == (
        "TRANSCODE_FAILED",
        3,
        16.5,
    )


def test_progress_only_rises_and_never_after_a_final_status(table: Table) -> None:
    # Given an uploaded video
    video_id = new_id()
    table.catalog.note_upload(video_id, FIRST)

    # When progress arrives out of order and repeated, then after it FAILED
    moves = [
        table.catalog.note_progress(video_id, 0.5, {"chunks_done": 2, "chunks_total": 4}, FIRST),
        table.catalog.note_progress(video_id, 0.25, {"chunks_done": 1, "chunks_total": 4}, FIRST),
        table.catalog.note_progress(video_id, 0.5, {"chunks_done": 2, "chunks_total": 4}, FIRST),
        table.catalog.note_progress(video_id, 0.75, {"chunks_done": 3, "chunks_total": 4}, FIRST),
    ]
    table.catalog.advance(video_id, Status.FAILED, {"failed_at": "t"}, FIRST)
    late = table.catalog.note_progress(video_id, 1.0, {"chunks_done": 4, "chunks_total": 4}, FIRST)

    # Then progress rose with the newer events only, and stopped at the final status
    assert (moves, late) == ([True, False, False, True], False)
    item = item_of(table, video_id)
    assert (item.status, item.progress, item.chunks_done, item.chunks_total) == (Status.FAILED, 0.75, 3, 4)


def test_progress_before_the_upload_makes_the_item_processing(table: Table) -> None:
    video_id = new_id()
    assert table.catalog.note_progress(video_id, 0.125, {"chunks_done": 1, "chunks_total": 8}, FIRST)
    item = item_of(table, video_id)
    assert (item.status, item.rank, item.progress, item.title) == (
        Status.PROCESSING,
        Rank.PROCESSING,
        0.125,
        "clip.mp4",
    )


def test_values_are_set_only_on_an_item_that_exists(table: Table) -> None:
    # Given one video that exists and one that does not
    video_id, unknown = new_id(), new_id()
    table.catalog.note_upload(video_id, FIRST)

    # When values are set on each
    set_known = table.catalog.set_values(video_id, {"announced_sequence": 100_000, "ready_published": True})
    set_unknown = table.catalog.set_values(unknown, {"announced_sequence": 100_000})

    # Then the existing one has them, and no item was made for the other
    assert (set_known, set_unknown) == (True, False)
    item = item_of(table, video_id)
    assert (item.announced_sequence, item.ready_published) == (100_000, True)
    assert table.catalog.get(unknown) is None and table.stored(unknown) is None


# --- READY with a stream ----------------------------------------------------------------------------------------


def test_a_ready_item_reads_back_typed_with_its_stream_downloads_and_thumbnails(table: Table) -> None:
    # Given a VideoTranscoded v2 applied by the catalog logic
    video_id = new_id()
    deps = CatalogDeps(store=table.catalog, prober=FakeProber(), publisher=FakePublisher(), clock=lambda: NOW)

    ready = record_transcoded(shapes.transcoded_v2(video_id, duration=12.5, chunks=3), deps)

    # Then the item reads back with every part typed, numbers as ints and floats (none a Decimal)
    assert ready is not None
    item = item_of(table, video_id)
    assert (item.status, item.ready_published, item.ready_event_id) == (Status.READY, True, ready.event_id)
    assert item.stream is not None and item.stream.renditions[0].name == item.renditions[0].name
    assert item.stream.master.startswith(f"videos/{video_id}/") and item.stream.duration_seconds == 12.5
    assert item.renditions[0].metadata is not None and item.renditions[0].metadata.duration_seconds == 12.5
    assert item.poster is not None and item.poster.key == f"videos/{video_id}/poster.jpg"
    assert item.thumbnails is not None and item.thumbnails.interval_seconds == 2.0
    assert (item.chunks, item.duration_seconds) == (3, 12.5)
    assert item.transcode is not None and item.transcode.timings == shapes.transcoded_v2(video_id).timings
    assert item.announced_sequence is not None and item.announced_sequence > 0
    assert not any(isinstance(v, Decimal) for v in _leaves(item.model_dump()))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


# --- delete -----------------------------------------------------------------------------------------------------


def test_a_buried_video_is_only_a_tombstone_that_no_write_brings_back(table: Table) -> None:
    # Given a READY video of alice's
    video_id = new_id()
    table.catalog.note_upload(video_id, FIRST)
    table.catalog.advance(video_id, Status.READY, {"ready_at": "t"}, FIRST)
    deleted_at = NOW

    # When bob tries to bury it, then alice does, twice
    by_bob = table.catalog.bury(video_id, "bob", deleted_at=deleted_at, expires_at=deleted_at + timedelta(days=15))
    by_alice = table.catalog.bury(video_id, "alice", deleted_at=deleted_at, expires_at=deleted_at + timedelta(days=15))
    again = table.catalog.bury(video_id, "alice", deleted_at=deleted_at, expires_at=deleted_at + timedelta(days=15))

    # Then only alice's first one did, and the item is the tombstone alone
    assert (by_bob, by_alice, again) == (False, True, False)
    tombstone = {
        "video_id": video_id,
        "owner": "alice",
        "status": "DELETED",
        "status_rank": 5,
        "deleted_at": deleted_at.isoformat(),
        "expires_at": int((deleted_at + timedelta(days=15)).timestamp()),
    }
    assert table.stored(video_id) == tombstone
    item = item_of(table, video_id)
    assert (item.deleted, item.title, item.created_at, item.expires_at) == (True, None, None, tombstone["expires_at"])

    # And no write of any kind changes it
    writes = [
        table.catalog.note_upload(video_id, FIRST),
        table.catalog.note_upload(video_id, FIRST, latest={"uploaded_at": "x"}, sequence="9999"),
        table.catalog.advance(video_id, Status.READY, {"ready_at": "x"}, FIRST),
        table.catalog.note_progress(video_id, 0.5, {"chunks_done": 1}, FIRST),
        table.catalog.set_values(video_id, {"ready_published": True}),
    ]
    assert writes == [False] * 5
    assert table.stored(video_id) == tombstone


def test_an_unknown_video_cannot_be_buried(table: Table) -> None:
    video_id = new_id()
    assert table.catalog.bury(video_id, "alice", deleted_at=NOW, expires_at=NOW + timedelta(days=1)) is False
    assert table.stored(video_id) is None


# --- listing by owner -------------------------------------------------------------------------------------------


def test_an_owner_lists_their_videos_newest_first_a_page_at_a_time_without_tombstones(table: Table) -> None:
    # Given six videos of one owner (one deleted since), one of another owner, one with no created_at
    owner, other = f"owner-{new_id()}", f"owner-{new_id()}"
    ids = [new_id() for _ in range(6)]
    for day, video_id in enumerate(ids, start=1):
        table.catalog.note_upload(
            video_id, {"owner": owner, "created_at": f"2026-11-0{day}T00:00:00+00:00", "title": f"{day}.mp4"}
        )
    table.catalog.note_upload(new_id(), {"owner": other, "created_at": "2026-11-09T00:00:00+00:00"})
    table.seed({"video_id": new_id(), "owner": owner, "status": "UPLOADED", "status_rank": 1})
    table.catalog.bury(ids[3], owner, deleted_at=NOW, expires_at=NOW + timedelta(days=1))

    # When the owner pages through them two at a time, the cursor going through the API's encoding
    pages: list[list[str]] = []
    start: dict[str, Any] | None = None
    for _ in range(10):  # a cursor that never ends fails below instead of looping
        items, last = table.index.page(owner, 2, start)
        pages.append([item.title or "" for item in items])
        if last is None:
            break
        start = decode_cursor(encode_cursor(last), owner)
        assert start is not None

    # Then they come newest first, each once, and the tombstone and the items outside the index never. (A full last
    # page is left out: DynamoDB may give it a cursor to an empty page, which the fake does and moto does not.)
    assert pages == [["6.mp4", "5.mp4"], ["3.mp4", "2.mp4"], ["1.mp4"]]


def test_a_page_that_is_not_full_has_no_cursor(table: Table) -> None:
    owner = f"owner-{new_id()}"
    for day in (1, 2, 3):
        table.catalog.note_upload(new_id(), {"owner": owner, "created_at": f"2026-10-0{day}", "title": f"{day}.mp4"})
    first, cursor = table.index.page(owner, 2, None)
    assert [item.title for item in first] == ["3.mp4", "2.mp4"] and cursor is not None
    assert set(cursor) == {"video_id", "owner", "created_at"}
    rest, end = table.index.page(owner, 2, cursor)
    assert ([item.title for item in rest], end) == (["1.mp4"], None)


def test_the_listing_shows_progress_and_signed_posters_from_either_store(table: Table) -> None:
    # Given a READY video and a PROCESSING one of the same owner
    owner = f"owner-{new_id()}"
    ready_id, processing_id = new_id(), new_id()
    deps = CatalogDeps(store=table.catalog, prober=FakeProber(), publisher=FakePublisher(), clock=lambda: NOW)
    record_transcoded(shapes.transcoded_v2(ready_id, owner=owner), deps)
    record_progress(shapes.progress(processing_id, 1, 4, owner=owner), deps)
    table.catalog.set_values(processing_id, {"created_at": "2026-12-01T00:00:00+00:00"})  # the newer one

    # When the owner lists them
    page = list_videos(owner, PageQuery(limit=5), ListDeps(index=table.index, signer=FakeSigner()))

    # Then each shows what its status allows
    (processing, ready) = page.videos
    assert (processing.video_id, processing.status, processing.progress, processing.poster) == (
        processing_id,
        "PROCESSING",
        0.25,
        None,
    )
    assert (ready.video_id, ready.status, ready.duration_seconds) == (ready_id, "READY", 12.5)
    assert ready.poster is not None and ready.poster.url is not None


# --- items an older version wrote -------------------------------------------------------------------------------


def test_an_item_an_older_version_wrote_reads_with_defaults(table: Table) -> None:
    # Given items with only what the first versions stored (numbers as DynamoDB gives them back)
    bare, ranked = new_id(), new_id()
    table.seed({"video_id": bare, "owner": "alice", "status": "READY"})
    table.seed({"video_id": ranked, "owner": "alice", "status": "PROCESSING", "status_rank": 2, "progress": 0.5})

    # When they are read
    old, processing = item_of(table, bare), item_of(table, ranked)

    # Then what they lack has its default, and the rank follows the status when there is none
    assert (old.status, old.status_rank, old.rank, old.ready_published, old.renditions, old.stream) == (
        Status.READY, None, Rank.READY, False, (), None)  # fmt: skip
    assert (processing.rank, processing.progress, type(processing.progress)) == (Rank.PROCESSING, 0.5, float)


# --- a whole life, through the logic, on both -------------------------------------------------------------------


def _life(table: Table, video_id: str) -> list[Any]:
    """Upload, progress (out of order), a chunk failure, a redriven success, duplicates, then deletion."""
    publisher = FakePublisher()
    uploads = UploadDeps(table.catalog, uploads_bucket=shapes.UPLOADS_BUCKET, publisher=publisher, clock=lambda: NOW)
    deps = CatalogDeps(table.catalog, FakeProber(), publisher, clock=lambda: NOW)
    record = S3EventRecord.model_validate(shapes.s3_record(f"uploads/alice/{video_id}/holiday+clip.mp4", etag="e1"))
    upload = upload_of(record)
    record_upload(upload, uploads)
    record_progress(shapes.progress(video_id, 2, 4), deps)
    record_progress(shapes.progress(video_id, 1, 4), deps)
    record_failed(shapes.failed(video_id, chunk=ChunkRef(index=2, start_seconds=8.0, end_seconds=12.0)), deps)
    record_transcoded(shapes.transcoded_v2(video_id), deps)
    record_transcoded(shapes.transcoded_v2(video_id), deps)
    record_upload(upload, uploads)
    before = table.stored(video_id)
    delete_video("alice", video_id, correlation_id="req", deps=DeleteDeps(table.catalog, publisher, clock=lambda: NOW))
    return [
        before,
        table.stored(video_id),
        [event.model_dump(mode="json", exclude={"occurred_at"}) for event in publisher.published],
    ]


def test_a_whole_life_leaves_the_same_items_and_events_in_the_fake_and_the_table(dynamo_table: Any) -> None:
    # Given the same video's events, applied by the catalog logic to the fake and to the table
    video_id = new_id()

    # When each lives through them
    fake, dynamo = _life(_fake(), video_id), _life(_dynamo(dynamo_table), video_id)

    # Then both stored the same items at every step, and published the same events
    assert fake[0] == dynamo[0]
    assert fake[1] == dynamo[1]
    assert fake[2] == dynamo[2]
    assert fake[0]["status"] == "READY" and fake[0]["failure"]["chunk"]["index"] == 2 and fake[1]["status"] == "DELETED"
    changes = [(e["status"], e["progress"]) for e in fake[2] if e["event_type"] == "VideoStatusChanged"]
    assert changes == [("UPLOADED", None), ("PROCESSING", 0.5), ("FAILED", None), ("READY", None), ("DELETED", None)]


def test_a_write_that_sets_one_attribute_twice_is_refused(table: Table) -> None:
    # Given a video (DynamoDB refuses an UpdateExpression that names one attribute twice)
    video_id = new_id()
    table.catalog.note_upload(video_id, FIRST)

    # When a write would set the title both as a value and as a first value, or set the status itself
    # Then it fails, and changes nothing
    with pytest.raises(ClientError, match="ValidationException"):
        table.catalog.advance(video_id, Status.READY, {"title": "new.mp4"}, {"title": "clip.mp4"})
    with pytest.raises(ClientError, match="ValidationException"):
        table.catalog.note_progress(video_id, 0.5, {"status": "READY"}, FIRST)
    assert item_of(table, video_id).status == Status.UPLOADED


# --- titles and sharing ----------------------------------------------------------------------------------------


def test_the_name_as_typed_titles_the_video_whichever_comes_first_and_never_over_the_owners(table: Table) -> None:
    from catalog.logic.sharing import TitleRank

    typed = "Bob's talk, part 2 (final) #1 🎤 שלום.mp4"
    # Given one video whose upload is noted first (its title the key's made-safe name), and one titled first
    late, early = new_id(), new_id()
    table.catalog.note_upload(late, FIRST | {"title": "Bob_s talk_ part 2 (final) _1.mp4"})
    assert table.catalog.name(early, "alice", typed, TitleRank.AS_TYPED)
    assert item_of(table, early).status is None  # a bare item: no video yet (its upload may never come)

    # When the other event of each arrives
    assert table.catalog.name(late, "alice", typed, TitleRank.AS_TYPED)
    assert table.catalog.note_upload(early, FIRST | {"title": "Bob_s talk_ part 2 (final) _1.mp4"})

    # Then both have the title as typed, and the early one is a video now
    assert item_of(table, late).title == item_of(table, early).title == typed
    assert item_of(table, early).status == Status.UPLOADED
    # And the owner's own title is never overwritten by a late or repeated UploadStarted, nor is a tombstone's
    assert table.catalog.name(late, "alice", "Mine", TitleRank.OWNER)
    assert not table.catalog.name(late, "alice", typed, TitleRank.AS_TYPED)
    assert item_of(table, late).title == "Mine"
    assert not table.catalog.name(early, "mallory", "Hijacked", TitleRank.AS_TYPED + 1)  # another owner's video
    table.catalog.bury(early, "alice", deleted_at=NOW, expires_at=NOW + timedelta(days=15))
    assert not table.catalog.name(early, "alice", typed, TitleRank.OWNER)
    assert item_of(table, early).deleted


def test_sharing_keys_revive_rotate_and_list_alike_in_either_store(table: Table) -> None:
    from catalog.logic.sharing import UpdateDeps, shared_item, update_video
    from catalog.logic.views import DetailsDeps
    from contracts.api import UpdateVideo, Visibility
    from lambdakit.refusals import NotFound

    # Given alice's READY video
    video_id = new_id()
    table.seed(
        {
            "video_id": video_id,
            "owner": "alice",
            "status": "READY",
            "status_rank": 4,
            "title": "t",
            "created_at": "2999-01-01T00:00:00+00:00",
        }
    )  # fmt: skip  (newest of the module's items)
    keys = (letter * 22 for letter in "KLMNOPQ")  # a fresh key each time one is asked for
    deps = UpdateDeps(table.catalog, DetailsDeps(table.catalog, FakeSigner()), new_key=lambda: next(keys))

    def change(**fields: Any) -> Any:
        return update_video("alice", video_id, UpdateVideo.model_validate(fields), deps)

    # When she makes it unlisted, private again, then public
    unlisted = change(visibility="unlisted", title="  Ünïcode 🎬 title  ", description="two\nlines")
    private = change(visibility="private")
    public = change(visibility="public")

    # Then unlisting gave a share id; private hid it (and it opens nothing); public revived the same one, listed
    assert unlisted.share_id == "K" * 22 + video_id and unlisted.visibility == Visibility.UNLISTED
    assert (unlisted.title, unlisted.description) == ("Ünïcode 🎬 title", "two\nlines")
    assert private.share_id is None
    assert public.share_id == unlisted.share_id and shared_item(table.catalog, public.share_id).video_id == video_id
    assert [item.video_id for item in table.public.page(1, None)[0]] == [video_id]
    # And a new link replaces the key for good; a switch to unlisted unlists it
    rotated = change(new_share_link=True, visibility="unlisted")
    assert rotated.share_id not in (None, unlisted.share_id) and rotated.share_id.endswith(video_id)
    with pytest.raises(NotFound):
        shared_item(table.catalog, unlisted.share_id)
    assert video_id not in [item.video_id for item in table.public.page(50, None)[0]]
    # And nobody else may change it, nor anyone a deleted one
    with pytest.raises(NotFound):
        update_video("mallory", video_id, UpdateVideo(visibility=Visibility.PUBLIC), deps)
    table.catalog.bury(video_id, "alice", deleted_at=NOW, expires_at=NOW + timedelta(days=15))
    with pytest.raises(NotFound):
        change(title="back")
    with pytest.raises(NotFound):
        shared_item(table.catalog, rotated.share_id)
