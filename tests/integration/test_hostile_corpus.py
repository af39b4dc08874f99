"""The hostile input corpus (issue 5): media, object keys and event bodies, each run through the real handlers.

A case is an upload (or an event body) fed to the transcode handler and the catalog's two handlers the way
the subscriptions deliver it; the test asserts the catalog item's final status and reason. The rotated phone
video is test_transcode_handler.py::test_a_rotated_phone_video_comes_out_the_right_way_up.
"""

from __future__ import annotations

import json
import posixpath
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.keys import VIDEO_ID_RE, derived_video_id
from contracts.readable import failure_sentence
from tests.integration.conftest import ANNOUNCEMENTS, Aws, Context, moto_stack, sqs_event
from tests.integration.pipeline import (
    ALL_DONE,
    Catalog,
    Pipeline,
    failure_logged,
    notification,
    s3_upload_event,
)
from tests.media import PDF, FifoWatch, hls_trap, hostile_file, make_clip
from tests.unit.shapes import HOSTILE_KEYS, transcode_failed

pytestmark = pytest.mark.service("transcode", "metadata")


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    """One moto server for the corpus (provisioning is most of a small case's cost): each case has its own keys."""
    with moto_stack(server=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s of 160x90 with a tone: the cheapest valid video (one rendition at its own size)."""
    return make_clip(tmp_path_factory.mktemp("corpus") / "tiny.mp4", width=160, height=90, seconds=1)


def renditions_of(aws: Aws, video_id: str) -> list[str]:
    return [k for k in aws.keys(aws.name("transcode", "TranscodedBucket"), f"videos/{video_id}/") if k.endswith(".mp4")]


def put(aws: Aws, key: str, body: bytes) -> tuple[str, int]:
    """Write an object of the uploads bucket at exactly `key`; return its ETag and size."""
    s3, bucket = aws.client("s3"), aws.name("upload", "UploadsBucket")
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"'), len(body)


# Media


MEDIA = {  # kind: (reason code, part of the tool's words, which go to the transcode's log)
    "pdf": ("UNREADABLE_MEDIA", ""),
    "truncated": ("UNREADABLE_MEDIA", "moov atom not found"),
    "audio_only": ("NO_VIDEO_STREAM", "no video stream"),
    "8k_frame": ("RESOLUTION_TOO_HIGH", "7680x4320 is above 3840x2160"),
    "declares_10_hours": ("DURATION_TOO_LONG", "36000s is longer than the limit of 14400s"),
    "10_streams": ("TOO_MANY_STREAMS", "10 streams; at most 8 accepted"),
    "empty": ("EMPTY_FILE", "empty"),
}


@pytest.mark.parametrize(("kind", "reason", "says"), [(k, *v) for k, v in MEDIA.items()], ids=list(MEDIA))
def test_hostile_media_ends_failed_with_its_reason(
    pipeline: Pipeline, tmp_path: Path, kind: str, reason: str, says: str, caplog: pytest.LogCaptureFixture
):
    # Given a file that must not become a video, uploaded as .mp4 (default caps: 600 s, 3840x2160, 60 fps, 8 streams)
    source = hostile_file(kind, tmp_path)

    # When it goes through the transcoder and the catalog
    started = time.perf_counter()
    run = pipeline.upload(source, "holiday.mp4")
    seconds = time.perf_counter() - started

    # Then the transcoder is done with it (no retry) and says why, once
    assert run.result == ALL_DONE
    [event] = run.events
    assert (event["event_type"], event["reason_code"]) == ("VideoTranscodeFailed", reason)
    # And people read the code's sentence; the tool's words are in the transcode's log, with the correlation id
    assert event["reason"] == failure_sentence(reason)
    logged = failure_logged(caplog, run.video_id)
    assert (logged["reason"], logged["correlation_id"]) == (reason, event["correlation_id"])
    assert says in logged["detail"] and str(tmp_path) not in logged["detail"]
    # And the catalog item is FAILED with that reason, and no rendition was written
    assert (run.item["status"], run.item["failure"]["code"]) == ("FAILED", reason)
    assert renditions_of(pipeline.aws, run.video_id) == []
    # And it was refused at once, by what the file declares (a 10-hour file is never decoded)
    assert seconds < 10


@pytest.mark.parametrize("claimed_size", [0, None, 1000], ids=["event says 0", "event has no size", "event says 1000"])
def test_an_empty_object_fails_as_empty_whatever_size_the_event_claims(
    pipeline: Pipeline, aws: Aws, claimed_size: int | None
):
    # Given an empty object (the upload form forbids one, but an S3 event can still name it)
    video_id = uuid.uuid4().hex
    key = f"uploads/alice/{video_id}/empty.mp4"
    etag, _ = put(aws, key, b"")
    notification(aws, key)

    # When its S3 event, whatever size it claims, goes through the pipeline
    run = pipeline.deliver(s3_upload_event(aws, key, etag, size=claimed_size), video_id)

    # Then it is FAILED as EMPTY_FILE (checked before download from the event, and after it from the file)
    assert run.result == ALL_DONE
    assert [e["reason_code"] for e in run.events] == ["EMPTY_FILE"]
    assert (run.item["status"], run.item["failure"]["code"]) == ("FAILED", "EMPTY_FILE")


def test_an_hls_playlist_named_mp4_fails_without_opening_its_segments(
    pipeline: Pipeline, tmp_path: Path, loopback_server
):
    # Given an HLS playlist saved as .mp4 whose segments are a local named pipe and a loopback URL
    server_url, hits = loopback_server
    with hls_trap(tmp_path, server_url) as (playlist, watch):
        # When it goes through the transcoder and the catalog
        run = pipeline.upload(playlist, "holiday.mp4")

    # Then it is FAILED, as a file that is not a video (ffprobe 8 no longer even detects HLS under another name;
    # were it detected, the format whitelist would refuse it as UNSUPPORTED_CONTAINER)
    assert run.result == ALL_DONE
    [code] = [e["reason_code"] for e in run.events]
    assert code in ("UNREADABLE_MEDIA", "UNSUPPORTED_CONTAINER")
    assert (run.item["status"], run.item["failure"]["code"]) == ("FAILED", code)
    # And neither the pipe nor the URL was ever opened
    assert watch.opened == 0 and hits == []


@pytest.mark.parametrize(
    "name",
    ["concat:{pipe}|x.mp4", "-i x.mp4", "-y.mp4", "$(touch {mark}).mp4", "`touch {mark}`.mp4"],
    ids=["concat protocol", "option", "dash", "shell substitution", "backticks"],
)
def test_names_that_mean_something_to_ffmpeg_or_a_shell_are_only_names(
    pipeline: Pipeline, tiny_clip: Path, tmp_path: Path, name: str
):
    # Given a valid video uploaded under a name that, passed to ffmpeg or a shell, would read a named pipe
    # (a tripwire outside the work folder) or create a file
    mark = tmp_path / "shell-ran"
    with FifoWatch(tmp_path / "sentinel") as watch:
        filename = name.format(pipe=watch.path, mark=mark)

        # When it goes through the transcoder and the catalog
        run = pipeline.upload(tiny_clip, filename)

    # Then it is a video like any other: READY, titled with the name as given
    assert run.result == ALL_DONE
    assert [e["event_type"] for e in run.events] == ["VideoTranscoded"]
    assert (run.item["status"], run.item["title"]) == ("READY", filename)
    # And the name reached neither ffmpeg nor a shell: the pipe was never opened, no file was made
    assert watch.opened == 0 and not mark.exists()
    # And the work folder (where ffmpeg only ever sees work/source) is left empty
    assert list((tmp_path / "work").iterdir()) == []


# Keys


@pytest.mark.parametrize(("template", "owner", "title"), list(HOSTILE_KEYS.values()), ids=list(HOSTILE_KEYS))
def test_a_hostile_key_is_read_exactly_and_its_outputs_stay_under_its_video_folder(
    pipeline: Pipeline, aws: Aws, tiny_clip: Path, template: str, owner: str | None, title: str
):
    # Given a valid video at a hostile key, a decoy (a PDF) at the key a path normaliser would make of it,
    # and the S3 event AWS sends for the key (form-encoded)
    given_id = uuid.uuid4().hex
    key = template.format(id=given_id)
    video_id = given_id if owner else derived_video_id(key)
    etag, size = put(aws, key, tiny_clip.read_bytes())
    normalised = posixpath.normpath(key).lstrip("/")
    if normalised != key:
        put(aws, normalised, PDF)
    uploads = aws.keys(aws.name("upload", "UploadsBucket"))
    outputs = set(aws.keys(aws.name("transcode", "TranscodedBucket")))

    # When the event goes through the transcoder and the catalog
    run = pipeline.deliver(s3_upload_event(aws, key, etag, size=size), video_id)

    # Then the object at the exact key was transcoded (the decoy would have failed): READY
    assert run.result == ALL_DONE
    [event] = run.events
    assert (event["event_type"], event["video_id"], event["source"]["key"]) == ("VideoTranscoded", video_id, key)
    assert run.item["status"] == "READY"
    # And every output is under videos/{video_id}/, for a valid id (derived from the key outside the layout)
    assert VIDEO_ID_RE.match(video_id)
    written = set(aws.keys(aws.name("transcode", "TranscodedBucket"))) - outputs
    assert written and all(k.startswith(f"videos/{video_id}/") for k in written)
    # And nothing else was written to the uploads bucket
    assert aws.keys(aws.name("upload", "UploadsBucket")) == uploads
    # And the item has the owner the layout gives (none outside it) and the file name as given for a title
    assert (run.item.get("owner"), run.item["title"], run.item["source"]["key"]) == (owner, title, key)


def test_a_key_that_does_not_decode_to_an_object_fails_as_missing(pipeline: Pipeline, aws: Aws):
    # Given an S3 event whose key is broken percent-encoding (half a UTF-8 character)
    video_id = uuid.uuid4().hex
    body = s3_upload_event(aws, f"uploads/alice/{video_id}/x.mp4").replace("x.mp4", "%E6%97.mp4")

    # When it goes through the pipeline
    run = pipeline.deliver(body, video_id)

    # Then it is FAILED as a missing source, not retried forever
    assert run.result == ALL_DONE
    assert (run.item["status"], run.item["failure"]["code"]) == ("FAILED", "SOURCE_MISSING")


# Events


def _without(document: dict, field: str) -> dict:
    return {name: value for name, value in document.items() if name != field}


def _sns_envelope(message: dict, **extra: str) -> dict:
    return {"Type": "Notification", "MessageId": "m", "Message": json.dumps(message), **extra}


HOSTILE_VIDEO_EVENTS = {
    "unknown event type": lambda doc: doc | {"event_type": "VideoExploded"},
    "schema_version 3 (a future one)": lambda doc: doc | {"schema_version": 3},
    "missing reason_code": lambda doc: _without(doc, "reason_code"),
    "missing correlation_id": lambda doc: _without(doc, "correlation_id"),
    "over 256 KiB": lambda doc: _sns_envelope(doc, Padding="x" * 256 * 1024),
    "an S3 event": lambda doc: {"Records": [{"eventName": "ObjectCreated:Put", "s3": doc["source"]}]},
}


@pytest.mark.parametrize("hostile", list(HOSTILE_VIDEO_EVENTS.values()), ids=list(HOSTILE_VIDEO_EVENTS))
def test_a_hostile_video_event_fails_alone_in_the_catalog(catalog: Catalog, hostile):
    # Given a batch with a hostile version of a VideoTranscodeFailed between two good ones
    before, target, after = (uuid.uuid4().hex for _ in range(3))
    bodies = [transcode_failed(before), hostile(transcode_failed(target)), transcode_failed(after)]

    # When the catalog's video-events handler takes the batch
    result = catalog.on_video_event(sqs_event(*map(json.dumps, bodies)), Context())

    # Then only the hostile message is reported failed (SQS retries it, then parks it in the DLQ), with no effect
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert catalog.item(target) is None
    # And the good ones around it were recorded
    assert catalog.item(before)["status"] == catalog.item(after)["status"] == "FAILED"


def _s3_document(aws: Aws, key: str) -> dict:
    return json.loads(s3_upload_event(aws, key))


HOSTILE_UPLOAD_EVENTS = {
    "record without a key": lambda d: d | {"Records": [d["Records"][0] | {"s3": {"bucket": {"name": "b"}}}]},
    "record without eventName": lambda d: d | {"Records": [_without(d["Records"][0], "eventName")]},
    "Records not a list": lambda d: d | {"Records": "uploads"},
    "over 256 KiB": lambda d: d | {"Padding": "x" * 256 * 1024},
    "a domain event": lambda d: transcode_failed(uuid.uuid4().hex),
    "unknown shape": lambda d: {"Event": "s3:ObjectCreated", "Key": "x"},
}


@pytest.mark.parametrize("hostile", list(HOSTILE_UPLOAD_EVENTS.values()), ids=list(HOSTILE_UPLOAD_EVENTS))
def test_a_hostile_upload_event_fails_alone_in_both_upload_consumers(
    pipeline: Pipeline, aws: Aws, tiny_clip: Path, hostile
):
    # Given a batch with a hostile version of an upload event (its object exists) before a good upload event
    target = uuid.uuid4().hex
    key = f"uploads/alice/{target}/clip.mp4"
    put(aws, key, tiny_clip.read_bytes())
    notification(aws, key)
    good_id = uuid.uuid4().hex
    good_key = f"uploads/alice/{good_id}/clip.mp4"
    put(aws, good_key, tiny_clip.read_bytes())
    batch = sqs_event(json.dumps(hostile(_s3_document(aws, key))), notification(aws, good_key))

    # When the transcoder and the catalog each take the batch
    transcoded = pipeline.transcode(batch, Context())
    recorded = pipeline.catalog.on_upload(batch, Context())

    # Then each reports only the hostile message failed, which had no effect
    assert transcoded == recorded == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert pipeline.catalog.item(target) is None and renditions_of(aws, target) == []
    # And the good upload was transcoded and recorded
    assert renditions_of(aws, good_id) and pipeline.catalog.item(good_id)["status"] == "UPLOADED"


@pytest.mark.parametrize("kind", ["video", "pdf"])
def test_the_same_upload_event_three_times_has_one_effect(
    pipeline: Pipeline, aws: Aws, tiny_clip: Path, tmp_path: Path, kind: str
):
    # Given an upload (a video, or a PDF that will fail), and a tap on the catalog's announcements
    source = tiny_clip if kind == "video" else hostile_file("pdf", tmp_path)
    announced = aws.tap(aws.name("metadata", "CatalogEventsTopic"), event_types=ANNOUNCEMENTS)

    # When its S3 event reaches each consumer three times, and so does every event the transcoder published
    run = pipeline.upload(source, "clip.mp4", copies=3)

    # Then the transcoder worked and published once, and the catalog ended as for one delivery
    assert run.result == ALL_DONE
    if kind == "video":
        assert [e["event_type"] for e in run.events] == ["VideoTranscoded"]
        assert run.item["status"] == "READY" and pipeline.catalog.probes.calls == 1
        assert [e["event_type"] for e in aws.drain(announced)] == ["VideoReady"]
    else:
        assert [e["reason_code"] for e in run.events] == ["UNREADABLE_MEDIA"]
        assert run.item["status"] == "FAILED" and aws.drain(announced) == []


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest first", "oldest first"])
def test_two_writes_of_one_key_end_with_the_newest_whatever_the_order(
    pipeline: Pipeline, aws: Aws, tiny_clip: Path, tmp_path: Path, newest_first: bool
):
    # Given one key written twice (the upload form can be used again within its 10 minutes): a 160x90 clip,
    # then a 320x180 one; S3's events carry sequencers in write order
    video_id = uuid.uuid4().hex
    key = f"uploads/alice/{video_id}/clip.mp4"
    first_etag, first_size = put(aws, key, tiny_clip.read_bytes())
    wider = make_clip(tmp_path / "wider.mp4", width=320, height=180, seconds=1)
    second_etag, second_size = put(aws, key, wider.read_bytes())
    older = s3_upload_event(aws, key, first_etag, size=first_size, sequencer="0055AED6DCD90281E5")
    newer = s3_upload_event(aws, key, second_etag, size=second_size, sequencer="0055AED6DCD90281E6")

    # When both events arrive, in either order
    runs = [pipeline.deliver(body, video_id) for body in ((newer, older) if newest_first else (older, newer))]

    # Then the older event is skipped by the transcoder (its content is gone; the newer event does the work)
    older_run = runs[1] if newest_first else runs[0]
    assert older_run.result == ALL_DONE and older_run.events == []
    # And the video is READY from the newest write only, and the catalog names that write as its source
    [transcoded] = [event for run in runs for event in run.events]
    assert transcoded["source"]["version"] == second_etag
    assert [(r["width"], r["height"]) for r in transcoded["renditions"]] == [(320, 180)]
    final = runs[-1].item
    assert final["status"] == "READY"
    assert (final["source"]["version"], final["source"]["size_bytes"]) == (second_etag, second_size)


@pytest.mark.parametrize(
    "changes",
    [{"bucket": "someone-elses-uploads"}, {"event_name": "ObjectRemoved:Delete"}],
    ids=["another bucket", "not ObjectCreated"],
)
def test_an_s3_event_that_is_not_for_us_is_skipped_not_failed(pipeline: Pipeline, aws: Aws, tiny_clip: Path, changes):
    # Given a valid video in the uploads bucket, and an S3 event naming its key that is not ours to act on
    video_id = uuid.uuid4().hex
    key = f"uploads/alice/{video_id}/clip.mp4"
    etag, size = put(aws, key, tiny_clip.read_bytes())
    notification(aws, key)

    # When the event goes through the transcoder and the catalog
    run = pipeline.deliver(s3_upload_event(aws, key, etag, size=size, **changes), video_id)

    # Then both acknowledge it (never retried, never in a DLQ) and nothing happens
    assert run.result == ALL_DONE
    assert (run.events, run.item, renditions_of(aws, video_id)) == ([], None, [])


def test_an_event_for_another_bucket_next_to_ours_only_processes_ours(pipeline: Pipeline, aws: Aws, tiny_clip: Path):
    # Given one S3 event with two records: one for another bucket, one for an upload of ours
    ours, theirs = uuid.uuid4().hex, uuid.uuid4().hex
    etags = {}
    for video_id in (ours, theirs):
        key = f"uploads/alice/{video_id}/clip.mp4"
        etags[video_id], _ = put(aws, key, tiny_clip.read_bytes())
        notification(aws, key)
    foreign = json.loads(
        s3_upload_event(aws, f"uploads/alice/{theirs}/clip.mp4", etags[theirs], bucket="someone-elses-uploads")
    )
    mine = json.loads(s3_upload_event(aws, f"uploads/alice/{ours}/clip.mp4", etags[ours]))
    body = json.dumps({"Records": foreign["Records"] + mine["Records"]})

    # When it goes through the transcoder and the catalog
    run = pipeline.deliver(body, ours)

    # Then our upload is READY and the other bucket's record left no trace
    assert run.result == ALL_DONE and run.item["status"] == "READY"
    assert pipeline.catalog.item(theirs) is None and renditions_of(aws, theirs) == []
