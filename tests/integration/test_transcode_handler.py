"""The transcode service against a moto server: real S3 -> SNS -> SQS deliveries, the workflow's state machine
executed by moto, its tasks done by the media tasks handler with real ffmpeg on short clips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import mediatools
from contracts import open_s3_event
from tests.integration.conftest import Aws, Context, moto_stack, sqs_event
from tests.integration.pipeline import events_published, upload
from tests.media import ffmpeg, hostile_file
from tests.wiring import forget_wiring

pytestmark = pytest.mark.service("transcode")


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    """One moto server for the module (each test has its own video ids)."""
    with moto_stack(server=True) as stack:
        yield stack


def outputs(aws: Aws, video_id: str) -> list[str]:
    """What the video's folder holds outside its stream (downloads, poster, manifest)."""
    prefix = f"videos/{video_id}/"
    return [
        k.removeprefix(prefix)
        for k in aws.keys(aws.name("transcode", "TranscodedBucket"), prefix)
        if "/stream/" not in k
    ]


def test_upload_becomes_renditions_poster_and_video_transcoded(aws: Aws, transcode, hd_clip: Path, tmp_path: Path):
    # Given a 720p clip uploaded under a name with spaces, a plus and unicode
    tap = aws.tap(aws.name("transcode", "VideoEventsTopic"))
    video_id, body = upload(aws, hd_clip, "my vidéo+final.v2.mp4")

    # When the transcode handler receives the S3 event
    result = transcode(sqs_event(body), Context())

    # Then it reports no failure, writes the ladder (no upscale) as HLS and MP4 downloads, the poster,
    # and publishes its progress and VideoTranscoded
    assert result == {"batchItemFailures": []}
    bucket = aws.name("transcode", "TranscodedBucket")
    prefix = f"videos/{video_id}/"
    assert outputs(aws, video_id) == ["480p.mp4", "720p.mp4", "manifest.json", "poster.jpg"]
    *progress, event = events_published(aws, tap)
    assert (event["event_type"], event["schema_version"], event["chunks"]) == ("VideoTranscoded", 2, 1)
    stream = event["stream"]
    # the progress (how often depends on timing): the one chunk in two rounds (480p, then 720p), up to all of it
    assert progress and {(p["event_type"], p["schema_version"], p["chunks_total"]) for p in progress} == {
        ("VideoTranscodeProgress", 2, 2)
    }
    assert all(0 <= p["chunks_done"] <= 2 and 0 <= p["encoded"] <= 1 for p in progress)
    assert max((p["chunks_done"], p["encoded"]) for p in progress) == (2, 1.0)
    # and, while 720p was still to come, the growing stream's start played, at the keys the finished stream keeps
    playable = [p["playable"] for p in progress if p["playable"]]
    assert playable and {(p["bucket"], p["master"]) for p in playable} == {(bucket, stream["master"])}
    assert all(p["duration_seconds"] == pytest.approx(2, abs=0.1) for p in playable)
    assert all(0 < p["seconds"] <= p["duration_seconds"] + 0.1 for p in playable)  # (seconds in tenths)
    assert [(r["name"], r["width"], r["height"]) for r in stream["renditions"]] == [
        ("720p", 1280, 720),
        ("480p", 854, 480),
    ]
    for key in (stream["master"], stream["audio"], *(r["playlist"] for r in stream["renditions"])):
        assert key.startswith(f"{prefix}stream/") and key in aws.keys(bucket, prefix)
    assert event["source"]["key"] == f"uploads/alice/{video_id}/my vidéo+final.v2.mp4"
    assert [(r["name"], r["width"], r["height"]) for r in event["renditions"]] == [
        ("720p", 1280, 720),
        ("480p", 854, 480),
    ]
    assert event["owner"] == "alice"
    # And the rendition really is a faststart H.264/AAC MP4
    local = tmp_path / "720p.mp4"
    aws.client("s3").download_file(bucket, f"{prefix}720p.mp4", str(local))
    head = local.read_bytes()[:200]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))

    probe = mediatools.probe(mediatools.local_input(local))
    assert (probe.video.codec_name, probe.audio.codec_name) == ("h264", "aac")


def test_same_upload_event_three_times_transcodes_once(aws: Aws, transcode, small_clip: Path):
    # Given one upload and its S3 event
    tap = aws.tap(aws.name("transcode", "VideoEventsTopic"))
    video_id, body = upload(aws, small_clip, "clip.mp4")
    bucket = aws.name("transcode", "TranscodedBucket")

    # When the same event is delivered three times (three SQS messages)
    transcode(sqs_event(body), Context())
    first = {o["Key"]: o["LastModified"] for o in aws.client("s3").list_objects_v2(Bucket=bucket)["Contents"]}
    transcode(sqs_event(body), Context())
    transcode(sqs_event(body), Context())

    # Then one execution, one set of outputs untouched by the duplicates, and one VideoTranscoded
    again = {o["Key"]: o["LastModified"] for o in aws.client("s3").list_objects_v2(Bucket=bucket)["Contents"]}
    assert again == first
    assert outputs(aws, video_id) == ["360p.mp4", "manifest.json", "poster.jpg"]
    *progress, transcoded = [e["event_type"] for e in events_published(aws, tap)]
    # (progress: after the chunk, and after the audio if it extended the growing stream: timing decides)
    assert transcoded == "VideoTranscoded" and progress and set(progress) == {"VideoTranscodeProgress"}
    assert len(transcode.executions(video_id)) == 1


def test_s3_test_event_is_acknowledged_and_skipped(aws: Aws, transcode):
    # Given the test event S3 sends when a notification is configured
    body = json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2026-11-26T10:00:00Z",
            "Bucket": aws.name("upload", "UploadsBucket"),
            "RequestId": "r",
            "HostId": "h",
        }
    )
    # When it is delivered
    result = transcode(sqs_event(body), Context())
    # Then it succeeds (so it is deleted, never redriven to the DLQ) and nothing is started
    assert result == {"batchItemFailures": []}
    assert transcode.sfn.list_executions(stateMachineArn=transcode.machine, statusFilter="RUNNING")["executions"] == []


def test_malformed_message_fails_alone(aws: Aws, transcode, small_clip: Path):
    # Given a batch with a good upload between two malformed messages
    video_id, body = upload(aws, small_clip, "ok.mp4")
    # When the handler gets the batch
    result = transcode(sqs_event("{not json", body, json.dumps({"Records": [{"nope": 1}]})), Context())
    # Then only the malformed ones are reported as failures, and the good one was transcoded
    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m2"}]}
    assert "360p.mp4" in outputs(aws, video_id)


@pytest.mark.parametrize(
    ("kind", "filename", "reason"),
    [
        ("corrupt", "holiday.mp4", "UNREADABLE_MEDIA"),
        ("pdf", "holiday.mp4", "UNREADABLE_MEDIA"),
        ("audio_only", "holiday.mp4", "NO_VIDEO_STREAM"),
        # ffprobe detects HLS by its extension only: as .mp4 or .ts it is no container at all, as .m3u8 it is
        # one that is not on the whitelist; either way no segment is opened
        ("hls_playlist", "holiday.mp4", "UNREADABLE_MEDIA"),
        ("hls_playlist", "holiday.ts", "UNREADABLE_MEDIA"),
        ("hls_playlist", "holiday.m3u8", "UNSUPPORTED_CONTAINER"),
        ("truncated", "holiday.mp4", "UNREADABLE_MEDIA"),
        ("gif_many_frames", "party.gif", "DURATION_TOO_LONG"),
        ("gif_huge_screen", "party.gif", "RESOLUTION_TOO_HIGH"),
    ],
)
def test_hostile_files_fail_with_a_reason_and_are_not_retried(
    aws: Aws, transcode, tmp_path: Path, loopback_server, kind: str, filename: str, reason: str
):
    # Given a file that is not a usable video, uploaded under a name a person might give it
    server_url, hits = loopback_server
    tap = aws.tap(aws.name("transcode", "VideoEventsTopic"))
    video_id, body = upload(aws, hostile_file(kind, tmp_path, server_url), filename)

    # When the transcoder gets it
    result = transcode(sqs_event(body), Context())

    # Then the message is done (not retried), VideoTranscodeFailed says why, and no rendition exists
    assert result == {"batchItemFailures": []}
    [event] = events_published(aws, tap)
    assert (event["event_type"], event["reason_code"]) == ("VideoTranscodeFailed", reason)
    assert event["video_id"] == video_id and event["reason"]
    assert str(tmp_path) not in event["reason"]  # no work-folder path leaks into the reason
    assert aws.keys(aws.name("transcode", "TranscodedBucket"), f"videos/{video_id}/") == [
        f"videos/{video_id}/manifest.json"
    ]
    # And nothing made ffmpeg/ffprobe reach out to a URL
    assert hits == []


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("MAX_DURATION_SECONDS", "1", "DURATION_TOO_LONG"),
        ("MAX_LONG_SIDE", "320", "RESOLUTION_TOO_HIGH"),
        ("MAX_FPS", "24", "FRAME_RATE_TOO_HIGH"),
        ("MAX_STREAMS", "1", "TOO_MANY_STREAMS"),
        ("MAX_SOURCE_BYTES", "1000", "FILE_TOO_LARGE"),
    ],
)
def test_files_above_the_gate_caps_fail(
    aws: Aws, transcode, monkeypatch: pytest.MonkeyPatch, small_clip: Path, setting: str, value: str, reason: str
):
    # Given a gate with a cap the 2 s, 640x360, 25 fps, 2-stream clip exceeds
    monkeypatch.setenv(setting, value)
    forget_wiring()
    tap = aws.tap(aws.name("transcode", "VideoEventsTopic"))
    _, body = upload(aws, small_clip, "big.mp4")

    # When it is transcoded
    result = transcode(sqs_event(body), Context())

    # Then it fails for that reason, terminally
    assert result == {"batchItemFailures": []}
    assert [(e["event_type"], e["reason_code"]) for e in events_published(aws, tap)] == [
        ("VideoTranscodeFailed", reason)
    ]


def test_rendition_keys_never_trigger_the_uploads_notification(aws: Aws, transcode, small_clip: Path):
    # Given a finished transcode (its renditions, poster and manifest are written)
    video_id, body = upload(aws, small_clip, "loop.mp4")
    transcode(sqs_event(body), Context())
    assert aws.keys(aws.name("transcode", "TranscodedBucket"))

    # Then writing them raised no new upload event: the transcode queue is empty, and the
    # catalog's uploads queue holds only the upload's own event (and S3's test event)
    assert aws.drain(aws.queue_url("video24-transcode-test-transcode")) == []
    upload_events = [open_s3_event(json.dumps(m)) for m in aws.drain(aws.queue_url("video24-metadata-test-uploads"))]
    keys = [record.key for event in upload_events if event for record in event.records]
    assert f"uploads/alice/{video_id}/loop.mp4" in keys
    assert all(key.startswith("uploads/") for key in keys), keys
    # And the notification is limited to uploads/, which rendition keys never use
    notification = aws.client("s3").get_bucket_notification_configuration(Bucket=aws.name("upload", "UploadsBucket"))
    [rule] = notification["TopicConfigurations"][0]["Filter"]["Key"]["FilterRules"]
    assert (rule["Name"].lower(), rule["Value"]) == ("prefix", "uploads/")


def test_a_rotated_phone_video_comes_out_the_right_way_up(aws: Aws, transcode, hd_clip: Path, tmp_path: Path):
    # Given a landscape-coded clip that says "display rotated 90°", as phones record portrait video
    rotated = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(hd_clip), "-c", "copy", str(rotated))
    tap = aws.tap(aws.name("transcode", "VideoEventsTopic"))
    video_id, body = upload(aws, rotated, "IMG_0001.MOV")

    # When it is transcoded
    transcode(sqs_event(body), Context())

    # Then the renditions are portrait, sized on the short side, and carry no rotation to re-apply
    event = events_published(aws, tap)[-1]
    assert [(r["name"], r["width"], r["height"]) for r in event["renditions"]] == [
        ("720p", 720, 1280),
        ("480p", 480, 854),
    ]
    local = tmp_path / "out.mp4"
    aws.client("s3").download_file(aws.name("transcode", "TranscodedBucket"), f"videos/{video_id}/720p.mp4", str(local))
    video = mediatools.probe(mediatools.local_input(local)).video
    assert (video.width, video.height, video.rotation) == (720, 1280, 0)
