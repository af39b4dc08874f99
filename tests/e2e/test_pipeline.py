"""The whole pipeline on the local stack: S3 -> SNS -> SQS -> functions, real ffmpeg, real ffprobe over HTTP."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack
from tests.integration.conftest import ANNOUNCEMENTS

pytestmark = pytest.mark.service("upload", "transcode", "metadata")


def test_an_upload_becomes_a_ready_video(stack: Stack, hd_clip: Path):
    # Given subscribers of the catalog's events
    ready_tap = stack.tap(stack.name("metadata", "CatalogEventsTopic"), event_types=ANNOUNCEMENTS)

    # When a 720p clip is uploaded under a name with spaces, '+', '%', unicode and several dots
    video_id = stack.upload(hd_clip, "Ünïcode holiday+100%.final.v2.mp4")

    # Then the catalog holds it READY with rendition metadata read by ffprobe, and a poster
    item = stack.final_item(video_id)
    assert item["status"] == "READY", item.get("failure")
    assert item["title"] == "Ünïcode holiday+100%.final.v2.mp4"
    renditions = {r["name"]: r for r in item["renditions"]}
    assert sorted(renditions) == ["480p", "720p"]
    video = renditions["720p"]["metadata"]["video"]
    assert (video["codec"], video["width"], video["height"]) == ("h264", 1280, 720)
    assert renditions["480p"]["metadata"]["audio"]["codec"] == "aac"
    poster = stack.s3.head_object(Bucket=item["poster"]["bucket"], Key=item["poster"]["key"])
    assert poster["ContentType"] == "image/jpeg" and poster["ContentLength"] > 1000
    # And VideoReady was announced once
    ready = stack.wait_for("VideoReady", lambda: stack.messages(ready_tap))
    assert [(e["event_type"], e["video_id"]) for e in ready] == [("VideoReady", video_id)]


def test_the_same_upload_event_three_times_changes_nothing(stack: Stack, small_clip: Path):
    # Given a finished video, and the exact S3 event its upload produced
    uploads_tap = stack.tap(stack.name("upload", "UploadsTopic"))
    ready_tap = stack.tap(stack.name("metadata", "CatalogEventsTopic"), event_types=ANNOUNCEMENTS)
    video_id = stack.upload(small_clip, "twice.mp4")
    stack.final_item(video_id)
    stack.wait_for("VideoReady", lambda: stack.messages(ready_tap))
    stack.idle()
    first = stack.item(video_id)
    [s3_event] = [e for e in stack.messages(uploads_tap) if video_id in json.dumps(e)]
    outputs = stack.s3.list_objects_v2(Bucket=stack.name("transcode", "TranscodedBucket"), Prefix=f"videos/{video_id}/")
    written = {o["Key"]: o["ETag"] + str(o["LastModified"]) for o in outputs["Contents"]}

    # When the same event is delivered twice more to both consumers
    for queue in (stack.name("transcode", "TranscodeQueue"), stack.name("metadata", "CatalogUploadsQueue")):
        for _ in range(2):
            stack.sqs.send_message(QueueUrl=stack.queue_url(queue), MessageBody=json.dumps(s3_event))
    stack.idle()

    # Then: one catalog item, still READY and unchanged; the same renditions; no second VideoReady
    again = stack.s3.list_objects_v2(Bucket=stack.name("transcode", "TranscodedBucket"), Prefix=f"videos/{video_id}/")
    assert {o["Key"]: o["ETag"] + str(o["LastModified"]) for o in again["Contents"]} == written
    assert stack.item(video_id) == first
    matching = stack.table.scan(FilterExpression="title = :t", ExpressionAttributeValues={":t": "twice.mp4"})
    assert matching["Count"] == 1
    assert stack.messages(ready_tap) == []


def test_a_pdf_renamed_mp4_ends_failed_with_a_reason_and_no_retry(stack: Stack, tmp_path: Path):
    # Given a PDF saved as .mp4
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n")
    # When it is uploaded
    video_id = stack.upload(fake, "fake.mp4")
    # Then the video is FAILED with the gate's reason, and nothing waits in a DLQ
    item = stack.final_item(video_id)
    assert item["status"] == "FAILED"
    assert item["failure"]["code"] == "UNREADABLE_MEDIA" and item["failure"]["reason"]
    stack.idle()
    assert all(not bodies for bodies in stack.dlq_bodies().values())


def test_a_malformed_message_lands_in_the_dlq_alone(stack: Stack):
    # Given a malformed message between two good upload events on the catalog's queue
    queue = stack.queue_url(stack.name("metadata", "CatalogUploadsQueue"))
    good, bad = [uuid.uuid4().hex, uuid.uuid4().hex], f"this is not an event ({uuid.uuid4().hex})"

    def s3_event(video_id: str) -> str:
        record = {
            "eventName": "ObjectCreated:Put",
            "eventTime": "2026-11-26T10:00:00Z",
            "s3": {
                "bucket": {"name": stack.name("upload", "UploadsBucket")},
                "object": {"key": f"uploads/carol/{video_id}/clip.mp4", "size": 10, "eTag": "e"},
            },
        }
        return json.dumps({"Records": [record]})

    # When they are sent together
    stack.sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "1", "MessageBody": s3_event(good[0])},
            {"Id": "2", "MessageBody": bad},
            {"Id": "3", "MessageBody": s3_event(good[1])},
        ],
    )

    # Then the good ones are recorded at once, and after maxReceiveCount the bad one is in the DLQ
    for video_id in good:
        stack.wait_for("UPLOADED", lambda v=video_id: stack.item(v))
    dlq = stack.name("metadata", "CatalogUploadsDLQ")
    bodies = stack.wait_for("the DLQ to hold the bad message", lambda: stack.dlq_bodies()[dlq], timeout=60)
    assert bodies == [bad]
    stack.idle()
    assert stack.take_dead_letters(dlq, bad) == [bad]  # (the stack is shared: every DLQ empty again)


def test_s3_test_events_were_acknowledged_not_dead_lettered(stack: Stack):
    # Given the stack (S3 sent its s3:TestEvent to both upload consumers when notifications were set up)
    stack.idle()
    # Then no DLQ holds a test event
    for bodies in stack.dlq_bodies().values():
        assert not [b for b in bodies if "s3:TestEvent" in b]
