"""GET /videos and GET /videos/{id} against moto: a user sees only their own videos."""

from __future__ import annotations

import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from contracts import ChunkRef, FailureReason
from contracts.readable import failure_sentence
from tests.integration.api import answer, api_event
from tests.integration.conftest import Aws, Context, sqs_event, use_function_env
from tests.integration.pipeline import DownloadingProber, catalog_handlers, s3_upload_event
from tests.unit import shapes

pytestmark = pytest.mark.service("metadata")


class CatalogApi:
    """GET /videos and GET /videos/{id}, each handler with its own function's environment."""

    def __init__(self, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
        self.aws, self.monkeypatch = aws, monkeypatch

    def get(self, video_id: str, sub: str) -> tuple[int, dict]:
        from catalog.handlers import get_video

        use_function_env(self.monkeypatch, self.aws.topology.invocables["metadata-getVideo"])
        event = api_event("GET", f"/videos/{video_id}", sub=sub, path_parameters={"id": video_id})
        return answer(get_video.handler(event, None))

    def list(self, query: dict[str, str], sub: str) -> tuple[int, dict]:
        from catalog.handlers import list_videos

        use_function_env(self.monkeypatch, self.aws.topology.invocables["metadata-listVideos"])
        return answer(list_videos.handler(api_event("GET", "/videos", sub=sub, query=query), None))


@pytest.fixture
def catalog_api(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> CatalogApi:
    return CatalogApi(aws, monkeypatch)


@pytest.fixture
def catalog(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path):
    yield from catalog_handlers(aws, monkeypatch, DownloadingProber(aws.client("s3"), tmp_path))


def put_video(aws: Aws, owner: str, created_at: str, status: str = "READY") -> str:
    video_id = uuid.uuid4().hex
    bucket = aws.name("transcode", "TranscodedBucket")
    item = {
        "video_id": video_id,
        "owner": owner,
        "title": f"{owner}'s video",
        "created_at": created_at,
        "status": status,
        "status_rank": 3,
        "renditions": [
            {"name": "720p", "bucket": bucket, "key": f"videos/{video_id}/720p.mp4", "width": 1280, "height": 720,
             "size_bytes": 100},
            # a key outside this video's prefix must never be signed
            {"name": "evil", "bucket": bucket, "key": "videos/someone-else/720p.mp4", "width": 1, "height": 1,
             "size_bytes": 1},
        ],
        "poster": {"bucket": bucket, "key": f"videos/{video_id}/poster.jpg", "width": 1280, "height": 720,
                   "size_bytes": 10},
    }  # fmt: skip
    boto3.resource("dynamodb", region_name="us-east-1").Table(aws.name("metadata", "CatalogTable")).put_item(Item=item)
    return video_id


def get(api: CatalogApi, video_id: str, sub: str) -> tuple[int, dict]:
    return api.get(video_id, sub)


def test_the_owner_gets_status_metadata_and_short_lived_links_for_that_video_only(aws: Aws, catalog_api):
    video_id = put_video(aws, "alice", "2026-11-26T10:00:00+00:00")
    status, video = get(catalog_api, video_id, "alice")
    assert status == 200 and video["status"] == "READY"
    urls = [r["url"] for r in video["renditions"] if r["url"]] + [video["poster"]["url"]]
    assert len(urls) == 2  # the rendition outside the video's prefix got no link
    for url in urls:
        parts = urlsplit(url)
        assert f"/videos/{video_id}/" in parts.path
        query = parse_qs(parts.query)
        expires_in = int(query["X-Amz-Expires"][0]) if "X-Amz-Expires" in query else None
        assert expires_in is not None and 0 < expires_in <= 15 * 60


def test_another_users_video_is_404_and_unknown_is_404_and_malformed_is_400(aws: Aws, catalog_api):
    video_id = put_video(aws, "alice", "2026-11-26T10:00:00+00:00")
    assert get(catalog_api, video_id, "bob")[0] == 404
    assert get(catalog_api, uuid.uuid4().hex, "alice")[0] == 404
    assert get(catalog_api, "../../etc", "alice")[0] == 400


def test_no_links_until_ready(aws: Aws, catalog_api):
    video_id = put_video(aws, "alice", "2026-11-26T10:00:00+00:00", status="PROCESSING")
    _, video = get(catalog_api, video_id, "alice")
    assert video["poster"]["url"] is None and all(r["url"] is None for r in video["renditions"])


def test_the_list_is_mine_newest_first_and_paginated(aws: Aws, catalog_api):
    mine = [put_video(aws, "alice", f"2026-11-2{day}T10:00:00+00:00") for day in range(1, 6)]
    put_video(aws, "bob", "2026-11-30T10:00:00+00:00")

    def page(cursor=None, limit="2", sub="alice"):
        query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        return catalog_api.list(query, sub)

    seen, cursor = [], None
    while True:
        status, body = page(cursor)
        assert status == 200 and len(body["videos"]) <= 2
        seen += [v["video_id"] for v in body["videos"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(mine))
    assert page(limit="500")[0] == 400 and page(limit="0")[0] == 400 and page(limit="two")[0] == 400
    # a cursor is opaque and bound to its owner: bob cannot replay alice's
    _, first = page()
    assert page(first["next_cursor"], sub="bob")[0] == 400
    assert page("not-a-cursor")[0] == 400


def test_the_list_signs_a_ready_videos_poster_and_shows_a_processing_videos_progress(aws: Aws, catalog_api):
    # Given alice's READY video and her PROCESSING one, a quarter encoded
    ready = put_video(aws, "alice", "2026-11-21T10:00:00+00:00")
    processing = put_video(aws, "alice", "2026-11-22T10:00:00+00:00", status="PROCESSING")
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(aws.name("metadata", "CatalogTable"))
    table.update_item(Key={"video_id": processing}, UpdateExpression="SET progress = :p",
                      ExpressionAttributeValues={":p": Decimal("0.25")})  # fmt: skip
    # When she lists her videos
    status, body = catalog_api.list({}, "alice")
    # Then the PROCESSING one has its progress and no poster, the READY one a poster link of 15 minutes at most
    assert status == 200
    videos = {v["video_id"]: v for v in body["videos"]}
    assert (videos[processing]["progress"], videos[processing]["poster"]) == (0.25, None)
    assert videos[ready]["progress"] is None
    poster = videos[ready]["poster"]
    assert (poster["width"], poster["height"], poster["size_bytes"]) == (1280, 720, 10)
    parts = urlsplit(poster["url"])
    assert parts.path.endswith(f"/videos/{ready}/poster.jpg")
    assert 0 < int(parse_qs(parts.query)["X-Amz-Expires"][0]) <= 15 * 60


@pytest.mark.parametrize("chunk", [None, ChunkRef(index=2, start_seconds=120.0, end_seconds=180.0)], ids=["", "chunk"])
def test_a_failed_video_reads_as_a_sentence_even_when_its_event_carried_ffmpegs_words(
    aws: Aws, catalog, catalog_api, chunk: ChunkRef | None
):
    # Given alice's upload, and a VideoTranscodeFailed for it whose reason is ffmpeg's text (sent before reasons
    # were sentences: redriven from a DLQ), recorded by the catalog as it came
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/clip.mp4")), Context())
    event = shapes.failed(video_id, chunk=chunk, reason=shapes.FFMPEG_WORDS)
    catalog.on_video_event(sqs_event(event.model_dump_json()), Context())
    assert catalog.item(video_id)["failure"]["reason"] == shapes.FFMPEG_WORDS

    # When she asks for the video
    status, video = catalog_api.get(video_id, "alice")

    # Then it is FAILED with the code, and the reason is the code's sentence (the part of the video in words)
    code = FailureReason.TRANSCODE_FAILED if chunk else FailureReason.NO_VIDEO_STREAM
    assert (status, video["status"], video["failure"]["code"]) == (200, "FAILED", code.value)
    assert video["failure"]["reason"] == failure_sentence(code, chunk)
    assert ("from 2:00 to 3:00" in video["failure"]["reason"]) is bool(chunk)
    # And nothing of ffmpeg's
    assert [mark for mark in ("0x", "@", "[", "whitelist") if mark in video["failure"]["reason"]] == []
