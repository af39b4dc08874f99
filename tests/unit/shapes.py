"""AWS delivery shapes for tests: S3 notification records and the SNS/SQS wrappings around them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

UPLOADS_BUCKET = "uploads"

# Object keys an uploads-bucket event may name, `{id}` standing for a fresh video id (32 hex digits), with the
# owner and file name the key layout gives: None for a key outside uploads/{owner}/{video_id}/ (its id is derived).
HOSTILE_KEYS: dict[str, tuple[str, str | None, str]] = {
    "dot-dot above the owner": ("uploads/alice/../../etc/passwd.mp4", None, "passwd.mp4"),
    "dot-dot in the file name": ("uploads/alice/{id}/../../x.mp4", "alice", "../../x.mp4"),
    "leading slash": ("/uploads/alice/{id}/a.mp4", None, "a.mp4"),
    "shell substitution": ("uploads/alice/{id}/$(id).mp4", "alice", "$(id).mp4"),
    "backticks": ("uploads/alice/{id}/`id`.mp4", "alice", "`id`.mp4"),
    "leading dash": ("uploads/alice/{id}/-i x.mp4", "alice", "-i x.mp4"),
    "1024 bytes (S3's maximum)": ("uploads/alice/{id}/" + "a" * 973 + ".mp4", "alice", "a" * 973 + ".mp4"),
    "unicode": ("uploads/zoë/{id}/vidéo 日本 🎬.mov", "zoë", "vidéo 日本 🎬.mov"),
    "space, plus and percent": ("uploads/alice/{id}/my film+cut 100%.mp4", "alice", "my film+cut 100%.mp4"),
    "already percent-encoded": ("uploads/alice/{id}/a%2Bb%20c.mp4", "alice", "a%2Bb%20c.mp4"),
}


def s3_encoded(key: str) -> str:
    """A key as S3 writes it in an event notification: form-encoded (' ' is '+', '+' '%2B', '%' '%25'), '/' kept."""
    return quote_plus(key, safe="/")


def s3_record(
    key: str = "uploads/alice/vid00001/clip.mp4",
    *,
    bucket: str = UPLOADS_BUCKET,
    etag: str | None = "etag-1",
    size: int | None = 1024,
    version_id: str | None = None,
    event_name: str = "ObjectCreated:Put",
    request_id: str | None = None,
    event_time: str = "2024-05-01T12:00:00.000Z",
) -> dict[str, Any]:
    """One record shaped like moto's: no userIdentity, requestParameters, responseElements or sequencer.

    `key` is given URL-encoded, as S3 sends it.
    """
    obj: dict[str, Any] = {"key": key}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    if version_id is not None:
        obj["versionId"] = version_id
    record: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": event_time,
        "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "uploads-notification",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }
    if request_id is not None:
        record["responseElements"] = {"x-amz-request-id": request_id, "x-amz-id-2": "host-id"}
    return record


def s3_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def s3_test_event(bucket: str = UPLOADS_BUCKET) -> dict[str, Any]:
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2024-05-01T12:00:00.000Z",
        "Bucket": bucket,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }


def sns_envelope(message: str, *, topic: str = "uploads") -> dict[str, Any]:
    """The SNS envelope: what an SQS queue subscribed without raw delivery receives as its body."""
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": f"arn:aws:sns:us-east-1:123456789012:{topic}",
        "Subject": "Amazon S3 Notification",
        "Message": message,
        "Timestamp": "2024-05-01T12:00:01.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }


def lambda_sns_event(envelope: dict[str, Any]) -> dict[str, Any]:
    """The event Lambda receives when subscribed to an SNS topic directly."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{envelope['TopicArn']}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": envelope,
            }
        ]
    }


def wrappings(document: dict[str, Any]) -> dict[str, Any]:
    """Every way one message reaches a consumer, by name."""
    text = json.dumps(document)
    envelope = sns_envelope(text)
    return {
        "raw JSON string": json.dumps(document, indent=2),
        "raw JSON bytes": text.encode(),
        "dict": document,
        "SNS envelope": envelope,
        "SNS-in-SQS body": json.dumps(envelope),
        "raw-delivery SQS body": text,
        "Lambda SNS event": lambda_sns_event(envelope),
    }


def transcode_failed(video_id: str) -> dict[str, Any]:
    """A VideoTranscodeFailed (no video stream) as the JSON document a consumer receives."""
    from contracts import FailureReason, SourceObject, VideoTranscodeFailed

    return VideoTranscodeFailed(
        correlation_id="c",
        video_id=video_id,
        owner="alice",
        source=SourceObject(bucket=UPLOADS_BUCKET, key=f"uploads/alice/{video_id}/a.mp4", version="e"),
        reason_code=FailureReason.NO_VIDEO_STREAM,
        reason="the file has no video stream",
    ).model_dump(mode="json")
