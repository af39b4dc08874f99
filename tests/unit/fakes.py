"""In-memory stand-ins for the ports of the transcode and catalog logic (no AWS, no ffmpeg)."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import shutil
import struct
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from catalog.adapters.dynamo import from_item
from catalog.logic.items import VideoItem
from catalog.logic.ports import Rank, Status
from contracts import AnyVideoEvent, RenditionFile, Upload, VideoStatusChanged
from contracts.events import ChunkRef
from contracts.media import AudioTrack, MediaSummary, Probe, VideoTrack
from lambdakit.metrics import Metric, NoMeter
from mediatools import MediaToolError
from transcode.logic import encoding, fmp4
from transcode.logic.chunking import Grid, thumbnail_numbers
from transcode.logic.ladder import Rendition
from transcode.logic.picture import AS_IS, Picture
from transcode.logic.ports import ChunkFiles, SourceMissing, SourceRef, SourceSuperseded
from transcode.logic.workflow import Plan, WorkflowDeps


def _json_copy(value: Any) -> Any:
    """What survives a trip through S3 or DynamoDB: plain JSON values."""
    return json.loads(json.dumps(value))


class FakeStorage:
    """Buckets in memory. `sources`: the uploads that exist, by (bucket, key) -> ETag; `superseded` ones refuse."""

    def __init__(self, sources: dict[tuple[str, str], str] | None = None) -> None:
        self.sources = dict(sources or {})
        self.superseded: set[tuple[str, str]] = set()
        self.sizes: dict[tuple[str, str], int] = {}
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self.reads: list[tuple[str, str]] = []
        self.fail_writes: set[str] = set()  # keys whose next write raises (then succeeds)

    def source_url(self, upload: Upload) -> SourceRef:
        where = (upload.bucket, upload.key)
        self.reads.append(where)
        if where not in self.sources:
            raise SourceMissing(f"s3://{upload.bucket}/{upload.key} does not exist")
        if where in self.superseded or (upload.etag and self.sources[where] != upload.etag):
            raise SourceSuperseded("written again")
        return SourceRef(f"file:/sources/{upload.key}", size=self.sizes.get(where, 1000))

    def _write(self, bucket: str, key: str) -> None:
        if key in self.fail_writes:
            self.fail_writes.discard(key)
            raise ConnectionError("S3 is unreachable")

    def upload(self, path: Path, bucket: str, key: str, content_type: str) -> None:
        self.put_bytes(bucket, key, path.read_bytes(), content_type)

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        self._write(bucket, key)
        self.objects[(bucket, key)] = (data, content_type)

    def put_text(self, bucket: str, key: str, text: str, content_type: str) -> None:
        self.put_bytes(bucket, key, text.encode(), content_type)

    def download(self, bucket: str, key: str, dest: Path) -> None:
        dest.write_bytes(self.objects[(bucket, key)][0])

    def size(self, bucket: str, key: str) -> int:
        return len(self.objects[(bucket, key)][0])

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        return sorted(k for b, k in [*self.objects, *self.documents] if b == bucket and k.startswith(prefix))

    def list_etags(self, bucket: str, prefix: str) -> dict[str, str]:
        """As S3's: the MD5 of what each key holds."""
        found = {}
        for key in self.list_keys(bucket, prefix):
            stored = self.objects.get((bucket, key))
            body = stored[0] if stored else json.dumps(self.documents[(bucket, key)], sort_keys=True).encode()
            found[key] = f'"{hashlib.md5(body).hexdigest()}"'
        return found

    def read_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        document = self.documents.get((bucket, key))
        return _json_copy(document) if document is not None else None

    def write_json(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        self._write(bucket, key)
        self.documents[(bucket, key)] = _json_copy(document)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        doomed = [k for k in [*self.objects, *self.documents] if k[0] == bucket and k[1].startswith(prefix)]
        for key in doomed:
            self.objects.pop(key, None)
            self.documents.pop(key, None)
        return len(doomed)

    def keys(self, bucket: str) -> set[str]:
        return {key for b, key in [*self.objects, *self.documents] if b == bucket}


class FakeTombstones:
    """Deleted videos; `delete_during` marks one as deleted when `marked` is asked the N-th time (a race)."""

    def __init__(self, *deleted: str) -> None:
        self.deleted: dict[str, tuple[datetime, datetime]] = {}
        self.asked = 0
        self.delete_during: tuple[str, int] | None = None
        for video_id in deleted:
            self.deleted[video_id] = (datetime.min, datetime.max)

    def mark(self, video_id: str, *, deleted_at: datetime, expires_at: datetime) -> None:
        self.deleted[video_id] = (deleted_at, expires_at)

    def marked(self, video_id: str) -> bool:
        self.asked += 1
        if self.delete_during and self.delete_during == (video_id, self.asked):
            self.deleted[video_id] = (datetime.min, datetime.max)
        return video_id in self.deleted


class FakePublisher:
    """Records what was published; `failures` makes the next N publish calls (of event type `only`) raise."""

    def __init__(self, failures: int = 0, only: str | None = None) -> None:
        self.failures, self.only = failures, only
        self.attempts: list[AnyVideoEvent] = []
        self.published: list[AnyVideoEvent] = []

    def publish(self, event: AnyVideoEvent) -> None:
        self.attempts.append(event)
        if self.failures and self.only in (None, event.event_type):
            self.failures -= 1
            raise ConnectionError("SNS is unreachable")
        self.published.append(event)

    @property
    def announced(self) -> list[AnyVideoEvent]:
        """What was published besides the status changes (VideoReady, VideoDeleted)."""
        return [e for e in self.published if e.event_type != "VideoStatusChanged"]

    @property
    def status_changes(self) -> list[VideoStatusChanged]:
        return [e for e in self.published if isinstance(e, VideoStatusChanged)]


def fragmented_track(chunk: bytes, seconds: float) -> bytes:
    """A fragmented MP4 track of `seconds` (any will do for the playlist arithmetic): the chunk's init segment,
    then its first fragment again and again, each moved to follow the one before (its tfdt)."""
    layout = fmp4.layout(chunk)
    first = layout.fragments[0]
    fragment = chunk[first.offset : first.offset + first.size]
    out = bytearray(chunk[: layout.init_size])
    for number in range(max(1, math.ceil(seconds * layout.timescale / first.duration - 1e-9))):
        moved = bytearray(fragment)
        tfdt = fmp4.find(moved, None, "moof", "traf", "tfdt")[0]
        version = moved[tfdt.body]
        struct.pack_into(">Q" if version == 1 else ">I", moved, tfdt.body + 4, number * first.duration)
        out += moved
    return bytes(out)


class FakeMedia:
    """Returns the probe it was given; a chunk encode copies `chunk_file` (a real fragmented MP4) for every rung.

    `chunk_errors`: chunk index -> how many of its encodes fail before one succeeds.
    """

    def __init__(
        self,
        probe: Probe | None = None,
        *,
        chunk_file: Path | None = None,
        probe_error: MediaToolError | None = None,
        chunk_errors: dict[int, int] | None = None,
    ) -> None:
        self._probe, self._probe_error, self.chunk_file = probe, probe_error, chunk_file
        self.chunk_errors = dict(chunk_errors or {})
        self.probed: list[SourceRef] = []
        self.encoded: list[int] = []
        self.rounds: list[list[str]] = []  # the rungs of each chunk encode
        self.background: list[bool] = []  # whether each chunk encode was asked to yield the cores
        self.progress_reports: tuple[int, float] = (10, 0.4)  # what ffmpeg says during every chunk (frames, s)
        self.pictures: list[Picture] = []
        self.audio: list[float] = []
        self.subtitles: dict[int, str] = {}  # stream index -> the WebVTT its extraction writes; others fail
        self.extractions: list[list[int]] = []

    def probe(self, source: SourceRef) -> Probe:
        self.probed.append(source)
        if self._probe_error:
            raise self._probe_error
        assert self._probe is not None, "FakeMedia needs a probe"
        return self._probe

    def encode_chunk(
        self,
        source: SourceRef,
        demuxer: str,
        chunk: ChunkRef,
        renditions: list[Rendition],
        grid: Grid,
        timescale: int,
        out_dir: Path,
        *,
        poster_at: float | None,
        picture: Picture = AS_IS,
        last: bool = False,
        top: Rendition | None = None,
        thumbnails: bool = True,
        progress: Callable[[int, float], None] | None = None,
        background: bool = False,
    ) -> ChunkFiles:
        self.encoded.append(chunk.index)
        self.rounds.append([r.name for r in renditions])
        self.background.append(background)
        self.pictures.append(picture)
        if progress is not None:
            progress(*self.progress_reports)
        if self.chunk_errors.get(chunk.index):
            self.chunk_errors[chunk.index] -= 1
            raise MediaToolError("ffmpeg", "Conversion failed!")
        assert self.chunk_file is not None, "FakeMedia needs a chunk file"
        files = {}
        for rendition in renditions:
            files[rendition.name] = out_dir / f"{rendition.name}.mp4"
            shutil.copy(self.chunk_file, files[rendition.name])
        poster = None
        if poster_at is not None:
            poster = out_dir / "poster.jpg"
            poster.write_bytes(b"\xff\xd8 poster \xff\xd9")
        thumbnail_files = {}
        for number in thumbnail_numbers(chunk, grid) if thumbnails else ():
            thumbnail_files[number] = out_dir / f"thumb-{number:05d}.jpg"
            thumbnail_files[number].write_bytes(b"\xff\xd8 thumb \xff\xd9")
        return ChunkFiles(files, thumbnail_files, poster)

    def encode_audio(
        self, source: SourceRef, demuxer: str, sink: Callable[[bytes], object], *, video_seconds: float
    ) -> None:
        self.audio.append(video_seconds)
        assert self.chunk_file is not None
        track = fragmented_track(self.chunk_file.read_bytes(), video_seconds)
        for at in range(0, len(track), 4096):  # as a pipe hands it over: in slices that cut boxes
            sink(track[at : at + 4096])

    def join_download(self, video_track: Path, audio_track: Path | None, out: Path) -> None:
        out.write_bytes(b"an mp4 download " + video_track.read_bytes()[:16])

    def sprite(self, images: list[Path], columns: int, out: Path) -> None:
        out.write_bytes(b"\xff\xd8 sprite of %d \xff\xd9" % len(images))

    def extract_subtitles(self, source: SourceRef, demuxer: str, streams: list[int], out_dir: Path) -> dict[int, Path]:
        self.extractions.append(list(streams))
        if any(stream not in self.subtitles for stream in streams):
            raise MediaToolError("ffmpeg", "Subtitle encoding failed")
        files = {stream: out_dir / f"s{stream}.vtt" for stream in streams}
        for stream, path in files.items():
            path.write_text(self.subtitles[stream])
        return files


class FakeCatalog:
    """The catalog table with DynamoCatalog's conditional semantics, in a dict of items as DynamoDB stores them
    (read through the adapter's own `from_item`). tests/integration/test_catalog_store_contract.py holds both to
    the same scenarios."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, video_id: str) -> VideoItem | None:
        item = self.items.get(video_id)
        return from_item(item) if item is not None else None

    def stored(self, video_id: str) -> dict[str, Any]:
        """The item as the table holds it (its attribute names and JSON values)."""
        return copy.deepcopy(self.items[video_id])

    def page(
        self, owner: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[VideoItem], dict[str, Any] | None]:
        """OwnerIndexQuery over the `by-owner` index: sparse (an item without created_at, a tombstone, is not in
        it), newest first; a full page gives its last key, as DynamoDB's Limit does (even when nothing follows)."""
        listed = sorted(
            (item for item in self.items.values() if item.get("owner") == owner and "created_at" in item),
            key=lambda item: (item["created_at"], item["video_id"]),
            reverse=True,
        )
        if start is not None:
            listed = [
                item
                for item in listed
                if (item["created_at"], item["video_id"]) < (start["created_at"], start["video_id"])
            ]
        page = listed[:limit]
        last = {name: page[-1][name] for name in ("video_id", "owner", "created_at")} if len(page) == limit else None
        return [from_item(item) for item in page], last

    def _item(self, video_id: str) -> dict[str, Any]:
        return self.items.setdefault(video_id, {"video_id": video_id})

    @staticmethod
    def _sets_each_once(*names: Iterable[str]) -> None:
        """DynamoDB refuses an UpdateExpression that sets one attribute twice (before any condition)."""
        every = [name for group in names for name in group]
        if len(every) != len(set(every)):
            error = {"Code": "ValidationException", "Message": "Two document paths overlap with each other"}
            raise ClientError({"Error": error}, "UpdateItem")

    def note_upload(
        self,
        video_id: str,
        first_values: dict[str, Any],
        *,
        latest: dict[str, Any] | None = None,
        sequence: str | None = None,
    ) -> bool:
        self._sets_each_once(
            first_values, ("status", "status_rank"), latest or {}, ["upload_sequence"] if sequence else []
        )
        current = self.items.get(video_id, {})
        if current.get("status") == Status.DELETED:  # no write brings a deleted video back
            return False
        # ConditionExpression: attribute_not_exists(upload_sequence) OR upload_sequence < :sequence
        if sequence is not None and "upload_sequence" in current and not current["upload_sequence"] < sequence:
            return False
        item = self._item(video_id)
        for name, value in _json_copy(first_values).items():
            item.setdefault(name, value)
        item.setdefault("status", Status.UPLOADED.value)
        item.setdefault("status_rank", int(Rank.UPLOADED))
        item.update(_json_copy(latest or {}))
        if sequence is not None:
            item["upload_sequence"] = sequence
        return True

    def advance(self, video_id: str, status: Status, values: dict[str, Any], first_values: dict[str, Any]) -> bool:
        self._sets_each_once(values, first_values, ("status", "status_rank"))
        rank = int(Rank[status.name])
        current = self.items.get(video_id, {})
        # ConditionExpression: attribute_not_exists(status_rank) OR status_rank < :rank
        if "status_rank" in current and not current["status_rank"] < rank:
            return False
        item = self._item(video_id)
        item.update(_json_copy(values))
        for name, value in _json_copy(first_values).items():
            item.setdefault(name, value)
        item["status"] = status.value
        item["status_rank"] = rank
        return True

    def note_progress(
        self,
        video_id: str,
        progress: float,
        values: dict[str, Any],
        first_values: dict[str, Any],
        *,
        measure: str = "progress",
    ) -> bool:
        self._sets_each_once(values, first_values, (measure, "status", "status_rank"))
        current = self.items.get(video_id, {})
        # ConditionExpression: (no measure OR measure < :progress) AND (no status_rank OR status_rank <= :rank)
        if measure in current and not current[measure] < progress:
            return False
        if "status_rank" in current and not current["status_rank"] <= Rank.PROCESSING:
            return False
        item = self._item(video_id)
        item.update(_json_copy(values))
        for name, value in _json_copy(first_values).items():
            item.setdefault(name, value)
        item.update({measure: progress, "status": Status.PROCESSING.value, "status_rank": int(Rank.PROCESSING)})
        return True

    def set_values(self, video_id: str, values: dict[str, Any]) -> bool:
        item = self.items.get(video_id)
        if item is None or item.get("status") == Status.DELETED:
            return False
        item.update(_json_copy(values))
        return True

    def name(self, video_id: str, owner: str, title: str, rank: int) -> bool:
        current = self.items.get(video_id, {})
        # ConditionExpression: (no title_rank OR title_rank < :rank) AND not a tombstone AND (no owner OR owner = :o)
        if "title_rank" in current and not current["title_rank"] < rank:
            return False
        if current.get("status") == Status.DELETED or current.get("owner", owner) != owner:
            return False
        item = self._item(video_id)
        item.update({"title_rank": rank, "title": title})
        item.setdefault("owner", owner)
        return True

    def share(
        self, video_id: str, owner: str, values: dict[str, Any], *, first_values: dict[str, Any], remove: list[str]
    ) -> bool:
        self._sets_each_once(values, first_values, remove)
        item = self.items.get(video_id)
        if item is None or "status" not in item or item.get("owner") != owner or item["status"] == Status.DELETED:
            return False
        item.update(_json_copy(values))
        for name, value in _json_copy(first_values).items():
            item.setdefault(name, value)
        for name in remove:
            item.pop(name, None)
        return True

    def public_page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[VideoItem], dict[str, Any] | None]:
        """PublicIndexQuery over the sparse `public` index (items with `listed`), newest first."""
        listed = sorted(
            (item for item in self.items.values() if "listed" in item and "created_at" in item),
            key=lambda item: (item["created_at"], item["video_id"]),
            reverse=True,
        )
        if start is not None:
            listed = [i for i in listed if (i["created_at"], i["video_id"]) < (start["created_at"], start["video_id"])]
        page = listed[:limit]
        last = {name: page[-1][name] for name in ("video_id", "listed", "created_at")} if len(page) == limit else None
        return [from_item(item) for item in page], last

    def bury(self, video_id: str, owner: str, *, deleted_at: datetime, expires_at: datetime) -> bool:
        item = self.items.get(video_id)
        if item is None or item.get("owner") != owner or item.get("status") == Status.DELETED:
            return False
        self.items[video_id] = {
            "video_id": video_id,
            "owner": owner,
            "status": Status.DELETED.value,
            "status_rank": int(Rank.DELETED),
            "deleted_at": deleted_at.isoformat(),
            "expires_at": int(expires_at.timestamp()),
        }
        return True


class FakePublicIndex:
    """The catalog's `public` index, read from a FakeCatalog."""

    def __init__(self, catalog: FakeCatalog) -> None:
        self.catalog = catalog

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[VideoItem], dict[str, Any] | None]:
        return self.catalog.public_page(limit, start)


class FakeOwnerNames:
    def __init__(self, names: dict[str, str] | None = None) -> None:
        self.kept: dict[str, tuple[str | None, int]] = {sub: (name, 1) for sub, name in (names or {}).items()}
        self.asked: list[set[str]] = []

    def names(self, subs: set[str]) -> dict[str, str]:
        self.asked.append(set(subs))
        return {sub: name for sub in subs if (name := self.kept.get(sub, (None, 0))[0]) is not None}

    def remember(self, sub: str, name: str | None, version: int) -> bool:
        if self.kept.get(sub, (None, 0))[1] >= version:
            return False
        self.kept[sub] = (name, version)
        return True


def media_summary(duration: float = 12.5, width: int = 1280, height: int = 720) -> MediaSummary:
    return MediaSummary(
        container="mov,mp4,m4a,3gp,3g2,mj2",
        duration_seconds=duration,
        size_bytes=2_000_000,
        bitrate=1_280_000,
        video=VideoTrack(
            codec="h264", width=width, height=height, fps=30.0, bitrate=1_150_000, duration_seconds=duration
        ),
        audio=AudioTrack(codec="aac", channels=2, sample_rate=48000, bitrate=128_000),
    )


class FakeProber:
    def __init__(self, duration: float = 12.5) -> None:
        self.duration = duration
        self.probed: list[RenditionFile] = []

    def probe(self, rendition: RenditionFile) -> MediaSummary:
        self.probed.append(rendition)
        return media_summary(self.duration, rendition.width, rendition.height)


class FakeSigner:
    """Signs nothing: a URL that names the object and how long it lasts."""

    def __init__(self) -> None:
        self.signed: list[tuple[str, str]] = []

    def url(self, bucket: str, key: str, expires_in: int) -> str:
        self.signed.append((bucket, key))
        return f"https://{bucket}.example/{key}?expires={expires_in}"


class FakeMeter:
    """Keeps each measurement (metric name, value, dimensions), checking the dimensions as EmfMeter does."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, float, dict[str, str]]] = []

    def record(self, metric: Metric, value: float = 1, **dimensions: str) -> None:
        NoMeter().record(metric, value, **dimensions)
        self.recorded.append((metric.name, value, dimensions))


def encode_every_chunk(the_plan: Plan, deps: WorkflowDeps) -> list[dict[str, Any]]:
    """Every item of the chunk Map, in its order (each chunk in round 0, then in round 1); their results."""
    return [encoding.encode_chunk(the_plan, item.chunk, deps, item.round) for item in the_plan.work]
