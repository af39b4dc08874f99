"""In-memory stand-ins for the ports of the transcode and catalog logic (no AWS, no ffmpeg)."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from catalog.logic.ports import Rank, Status
from contracts import AnyVideoEvent, RenditionFile
from contracts.media import AudioTrack, MediaSummary, Probe, VideoTrack
from mediatools import MediaToolError
from transcode.logic.gate import Accepted
from transcode.logic.ladder import Rendition
from transcode.logic.ports import SourceMissing


def _json_copy(value: Any) -> Any:
    """What survives a trip through S3 or DynamoDB: plain JSON values."""
    return json.loads(json.dumps(value))


class FakeStorage:
    def __init__(self, objects: dict[tuple[str, str], bytes] | None = None) -> None:
        self.objects = dict(objects or {})
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self.uploaded: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.downloads: list[tuple[str, str]] = []

    def download(
        self, bucket: str, key: str, dest: Path, *, etag: str | None = None, version: str | None = None
    ) -> int:
        self.downloads.append((bucket, key))
        if (bucket, key) not in self.objects:
            raise SourceMissing(f"s3://{bucket}/{key} does not exist")
        dest.write_bytes(self.objects[(bucket, key)])
        return dest.stat().st_size

    def upload(self, path: Path, bucket: str, key: str, content_type: str) -> None:
        self.uploaded[(bucket, key)] = (path.read_bytes(), content_type)

    def read_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        document = self.documents.get((bucket, key))
        return _json_copy(document) if document is not None else None

    def write_json(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        self.documents[(bucket, key)] = _json_copy(document)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        doomed = [k for k in [*self.uploaded, *self.documents] if k[0] == bucket and k[1].startswith(prefix)]
        for key in doomed:
            self.uploaded.pop(key, None)
            self.documents.pop(key, None)
        return len(doomed)

    def keys(self, bucket: str) -> set[str]:
        return {key for b, key in [*self.uploaded, *self.documents] if b == bucket}


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
    """Records what was published; `failures` makes the next N publish calls raise."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts: list[AnyVideoEvent] = []
        self.published: list[AnyVideoEvent] = []

    def publish(self, event: AnyVideoEvent) -> None:
        self.attempts.append(event)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SNS is unreachable")
        self.published.append(event)


class FakeMedia:
    """Returns the probe it was given and writes small dummy files for each rendition and the poster."""

    def __init__(
        self,
        probe: Probe | None = None,
        *,
        probe_error: MediaToolError | None = None,
        transcode_error: MediaToolError | None = None,
    ) -> None:
        self._probe, self._probe_error, self._transcode_error = probe, probe_error, transcode_error
        self.probed: list[Path] = []
        self.transcoded: list[dict[str, Any]] = []

    def probe(self, source: Path) -> Probe:
        self.probed.append(source)
        if self._probe_error:
            raise self._probe_error
        assert self._probe is not None, "FakeMedia needs a probe"
        return self._probe

    def transcode(
        self, source: Path, accepted: Accepted, renditions: list[Rendition], poster_at: float, out_dir: Path
    ) -> dict[str, Path]:
        self.transcoded.append(
            {"source": source, "accepted": accepted, "renditions": renditions, "poster_at": poster_at}
        )
        if self._transcode_error:
            (out_dir / "partial.mp4").write_bytes(b"half an encode")
            raise self._transcode_error
        outputs = {}
        for rendition in renditions:
            outputs[rendition.name] = out_dir / f"{rendition.name}.mp4"
            outputs[rendition.name].write_bytes(b"\0" * rendition.height)
        outputs["poster"] = out_dir / "poster.jpg"
        outputs["poster"].write_bytes(b"\xff\xd8 poster \xff\xd9")
        return outputs


class FakeCatalog:
    """The catalog table with DynamoCatalog's conditional semantics, in a dict."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, video_id: str) -> dict[str, Any] | None:
        item = self.items.get(video_id)
        return copy.deepcopy(item) if item is not None else None

    def _item(self, video_id: str) -> dict[str, Any]:
        return self.items.setdefault(video_id, {"video_id": video_id})

    def note_upload(
        self,
        video_id: str,
        first_values: dict[str, Any],
        *,
        latest: dict[str, Any] | None = None,
        sequence: str | None = None,
    ) -> None:
        current = self.items.get(video_id, {})
        if current.get("status") == Status.DELETED:  # no write brings a deleted video back
            return
        # ConditionExpression: attribute_not_exists(upload_sequence) OR upload_sequence < :sequence
        if sequence is not None and "upload_sequence" in current and not current["upload_sequence"] < sequence:
            return
        item = self._item(video_id)
        for name, value in _json_copy(first_values).items():
            item.setdefault(name, value)
        item.setdefault("status", Status.UPLOADED.value)
        item.setdefault("status_rank", int(Rank.UPLOADED))
        item.update(_json_copy(latest or {}))
        if sequence is not None:
            item["upload_sequence"] = sequence

    def advance(self, video_id: str, status: Status, values: dict[str, Any], first_values: dict[str, Any]) -> bool:
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
        self, video_id: str, progress: float, values: dict[str, Any], first_values: dict[str, Any]
    ) -> bool:
        current = self.items.get(video_id, {})
        # ConditionExpression: (no progress OR progress < :progress) AND (no status_rank OR status_rank <= :rank)
        if "progress" in current and not current["progress"] < progress:
            return False
        if "status_rank" in current and not current["status_rank"] <= Rank.PROCESSING:
            return False
        item = self._item(video_id)
        item.update(_json_copy(values))
        for name, value in _json_copy(first_values).items():
            item.setdefault(name, value)
        item.update(progress=progress, status=Status.PROCESSING.value, status_rank=int(Rank.PROCESSING))
        return True

    def set_values(self, video_id: str, values: dict[str, Any]) -> bool:
        item = self.items.get(video_id)
        if item is None or item.get("status") == Status.DELETED:
            return False
        item.update(_json_copy(values))
        return True

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
