"""Deleting a video: the catalog announces first, each service removes only what is that video's (and, with the
playback CDN, the transcode service has the CDN drop its copies)."""

from __future__ import annotations

import uuid

import pytest

from contracts import SourceObject, VideoDeleted
from infra import load
from tests.integration.api import answer, api_event
from tests.integration.conftest import TEST_PARAMS, Aws, Context, sqs_event, use_function_env

pytestmark = pytest.mark.service("upload", "transcode", "metadata")


def deleted(aws: Aws, video_id: str, key: str, bucket: str | None = None) -> str:
    source = SourceObject(bucket=bucket or aws.name("upload", "UploadsBucket"), key=key, version="e")
    return VideoDeleted(correlation_id="c", video_id=video_id, owner="alice", source=source).model_dump_json()


@pytest.fixture
def delete_source(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    from intake.handlers import deletions

    use_function_env(monkeypatch, aws.topology.invocables["upload-deleteSource"])
    return lambda body: deletions.handler(sqs_event(body), Context())


def test_the_upload_service_deletes_only_that_videos_source(aws: Aws, delete_source):
    s3, bucket = aws.client("s3"), aws.name("upload", "UploadsBucket")
    video_id, other_id = uuid.uuid4().hex, uuid.uuid4().hex
    mine, other = f"uploads/alice/{video_id}/a.mp4", f"uploads/alice/{other_id}/b.mp4"
    for key in (mine, other):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    # An event naming another video's key, or another bucket, deletes nothing
    assert delete_source(deleted(aws, video_id, other)) == {"batchItemFailures": []}
    assert delete_source(deleted(aws, video_id, mine, bucket="someone-elses-bucket")) == {"batchItemFailures": []}
    assert aws.keys(bucket) == sorted([mine, other])
    # The right one deletes the source, and again is harmless
    for _ in range(2):
        assert delete_source(deleted(aws, video_id, mine)) == {"batchItemFailures": []}
    assert aws.keys(bucket) == [other]


def test_the_transcode_service_deletes_only_that_videos_prefix(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    from transcode.handlers import deletions

    use_function_env(monkeypatch, aws.topology.invocables["transcode-deleteRenditions"])
    s3, bucket = aws.client("s3"), aws.name("transcode", "TranscodedBucket")
    video_id, other_id = uuid.uuid4().hex, uuid.uuid4().hex
    for key in (f"videos/{video_id}/720p.mp4", f"videos/{video_id}/poster.jpg", f"videos/{other_id}/720p.mp4"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    for _ in range(2):
        body = deleted(aws, video_id, f"uploads/alice/{video_id}/a.mp4")
        assert deletions.handler(sqs_event(body), Context()) == {"batchItemFailures": []}
    assert aws.keys(bucket) == [f"videos/{other_id}/720p.mp4"]
    # And the video is remembered as deleted, so a late upload event of it is not transcoded again
    tombstones = aws.client("dynamodb").scan(TableName=aws.name("transcode", "DeletedVideosTable"))["Items"]
    assert [item["video_id"]["S"] for item in tombstones] == [video_id]


def playback_distribution(aws: Aws) -> str:
    """A distribution over the transcoded bucket, in moto (the local stack has no CDN to make it from)."""
    bucket = aws.name("transcode", "TranscodedBucket")
    origin = {
        "Id": "transcoded",
        "DomainName": f"{bucket}.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    behaviour = {"TargetOriginId": "transcoded", "ViewerProtocolPolicy": "https-only",
                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}  # fmt: skip
    config = {"CallerReference": uuid.uuid4().hex, "Comment": "playback", "Enabled": True,
              "Origins": {"Quantity": 1, "Items": [origin]}, "DefaultCacheBehavior": behaviour}  # fmt: skip
    return str(aws.client("cloudfront").create_distribution(DistributionConfig=config)["Distribution"]["Id"])


def test_with_the_playback_cdn_the_video_is_invalidated_once_after_its_files_are_gone(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
):
    from infra.emulator import invalidations_by_caller_reference
    from transcode.handlers import deletions

    invalidations_by_caller_reference()  # as CloudFront answers a repeated CallerReference (infra/emulator.py)
    # Given a stage with the playback CDN (its deletion function told the distribution), and a video's files
    cdn_stage = load("test", params=TEST_PARAMS | {"playbackPublicKey": "-----BEGIN PUBLIC KEY-----"})
    function = cdn_stage.invocables["transcode-deleteRenditions"]
    assert function.environment["PLAYBACK_DISTRIBUTION_ID"].startswith("E")
    distribution = playback_distribution(aws)
    use_function_env(monkeypatch, function, PLAYBACK_DISTRIBUTION_ID=distribution)
    s3, bucket, cloudfront = aws.client("s3"), aws.name("transcode", "TranscodedBucket"), aws.client("cloudfront")
    video_id = uuid.uuid4().hex
    for key in (f"videos/{video_id}/stream/v1/master.m3u8", f"videos/{video_id}/stream/v1/720p/c00000.mp4"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    # When its VideoDeleted is delivered twice
    body = deleted(aws, video_id, f"uploads/alice/{video_id}/a.mp4")
    for _ in range(2):
        assert deletions.handler(sqs_event(body), Context()) == {"batchItemFailures": []}
    # Then its files are gone, and the distribution has one invalidation: that video's folder
    assert aws.keys(bucket, f"videos/{video_id}/") == []
    [made] = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]["Items"]
    batch = cloudfront.get_invalidation(DistributionId=distribution, Id=made["Id"])["Invalidation"]["InvalidationBatch"]
    assert batch["Paths"]["Items"] == [f"/videos/{video_id}/*"]
    assert batch["CallerReference"] == VideoDeleted.model_validate_json(body).event_id


def test_without_the_cdn_no_distribution_is_asked_for_anything(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    from transcode import deps

    use_function_env(monkeypatch, aws.topology.invocables["transcode-deleteRenditions"])
    assert aws.topology.invocables["transcode-deleteRenditions"].environment["PLAYBACK_DISTRIBUTION_ID"] == ""
    assert deps.delete_renditions().cdn is None


def test_the_catalog_keeps_the_item_when_the_announcement_fails(aws: Aws, monkeypatch: pytest.MonkeyPatch):
    import boto3

    from catalog import deps
    from catalog.handlers import delete_video

    use_function_env(monkeypatch, aws.topology.invocables["metadata-deleteVideo"])
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(aws.name("metadata", "CatalogTable"))
    video_id = uuid.uuid4().hex
    table.put_item(Item={"video_id": video_id, "owner": "alice", "status": "READY", "status_rank": 3})

    class Down:
        def publish(self, event):
            raise ConnectionError("SNS is down")

    deps.delete_video().publisher = Down()
    event = api_event("DELETE", f"/videos/{video_id}", sub="alice", path_parameters={"id": video_id})
    # When SNS fails, the delete fails (500) and the item stays as it was, so a retry can announce it
    assert answer(delete_video.handler(event, None))[0] == 500
    assert table.get_item(Key={"video_id": video_id})["Item"]["status"] == "READY"
