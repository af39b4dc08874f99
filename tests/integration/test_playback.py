"""Signed playlists against moto: GET /videos/{id} mints a playback link for the owner of a READY video, and
GET /playback/{grant}/{path+} serves its package's playlists with every media URI a presigned URL."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest

from tests.integration.api import answer, api_event
from tests.integration.conftest import Aws, use_function_env

pytestmark = pytest.mark.service("metadata")

API = "https://abc123.execute-api.us-east-1.amazonaws.com"
MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="audio"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500000,AVERAGE-BANDWIDTH=400000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2",AUDIO="audio"
480p/index.m3u8
"""


def media_playlist(file: str, chunks: int) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:2", "#EXT-X-PLAYLIST-TYPE:VOD"]
    lines.append(f'#EXT-X-MAP:URI="{file.format(0)}",BYTERANGE="800@0"')
    for chunk in range(chunks):
        for segment in range(2):
            lines += ["#EXTINF:2.000000,", f"#EXT-X-BYTERANGE:1000@{800 + 1000 * segment}", file.format(chunk)]
    return "\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n"


TRACK = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nsprite-000.jpg#xywh=0,0,160,90\n\n"


class Playback:
    """The two routes, each handler with its own function's environment, called as API Gateway would."""

    def __init__(self, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
        self.aws, self.monkeypatch = aws, monkeypatch

    @staticmethod
    def _event(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        event = api_event(method, path, **kwargs)
        event["requestContext"]["domainName"] = urlsplit(API).hostname
        event["headers"] |= {"x-forwarded-proto": "https", "x-forwarded-port": "443"}
        return event

    def video(self, video_id: str, sub: str) -> tuple[int, dict]:
        from catalog.handlers import get_video

        use_function_env(self.monkeypatch, self.aws.topology.invocables["metadata-getVideo"])
        event = self._event("GET", f"/videos/{video_id}", sub=sub, path_parameters={"id": video_id})
        return answer(get_video.handler(event, None))

    def fetch(self, url: str) -> dict[str, Any]:
        """GET a playback URL with no caller at all (what a player sends: no Authorization header)."""
        from catalog.handlers import playback

        assert url.startswith(f"{API}/playback/")
        grant, _, path = url.removeprefix(f"{API}/playback/").partition("/")
        use_function_env(self.monkeypatch, self.aws.topology.invocables["metadata-servePlayback"])
        event = self._event("GET", urlsplit(url).path, sub=None, path_parameters={"grant": grant, "path": path})
        return playback.handler(event, None)


@pytest.fixture
def player(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Playback:
    return Playback(aws, monkeypatch)


def grants_table(aws: Aws) -> Any:
    return boto3.resource("dynamodb", region_name="us-east-1").Table(aws.name("metadata", "PlaybackGrantsTable"))


def ready_video(aws: Aws, owner: str = "alice", status: str = "READY", with_stream: bool = True) -> tuple[str, str]:
    """A catalog item as VideoTranscoded v2 leaves it, and its package's files in the transcoded bucket."""
    video_id, bucket = uuid.uuid4().hex, aws.name("transcode", "TranscodedBucket")
    prefix = f"videos/{video_id}/stream/v1/"
    s3 = aws.client("s3")
    files = {
        "master.m3u8": MASTER,
        "720p/index.m3u8": media_playlist("c{:05d}.mp4", 2),
        "480p/index.m3u8": media_playlist("c{:05d}.mp4", 2),
        "audio/index.m3u8": media_playlist("audio.mp4", 1),
        "thumbs/thumbnails.vtt": TRACK,
    }
    media = ["720p/c00000.mp4", "720p/c00001.mp4", "480p/c00000.mp4", "480p/c00001.mp4", "audio/audio.mp4"]
    for path, text in files.items() | {(m, "media") for m in media} | {("thumbs/sprite-000.jpg", "jpeg")}:
        s3.put_object(Bucket=bucket, Key=prefix + path, Body=text.encode())
    item: dict[str, Any] = {"video_id": video_id, "owner": owner, "title": "clip.mp4", "status": status,
                            "status_rank": 4, "created_at": "2026-11-28T10:00:00+00:00",
                            "duration_seconds": 8}  # fmt: skip
    if with_stream:
        item["stream"] = {
            "bucket": bucket,
            "master": f"{prefix}master.m3u8",
            "renditions": [{"name": "720p", "width": 1280, "height": 720, "playlist": f"{prefix}720p/index.m3u8",
                            "bandwidth": 900000, "average_bandwidth": 800000, "codecs": "avc1.64001f,mp4a.40.2"}],
            "audio": f"{prefix}audio/index.m3u8",
            "segment_seconds": 2,
            "duration_seconds": 8,
        }  # fmt: skip
        item["thumbnails"] = {"bucket": bucket, "track": f"{prefix}thumbs/thumbnails.vtt", "sprites": [],
                              "interval_seconds": 2, "width": 160, "height": 90}  # fmt: skip
    boto3.resource("dynamodb", region_name="us-east-1").Table(aws.name("metadata", "CatalogTable")).put_item(Item=item)
    return video_id, prefix


def signed_key(url: str, bucket: str) -> tuple[str, int]:
    """The object a presigned S3 URL reads, and for how many seconds."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    path = unquote(parts.path.lstrip("/"))
    key = path.removeprefix(f"{bucket}/") if not parts.hostname.startswith(bucket) else path  # type: ignore[union-attr]
    return key, int(query["X-Amz-Expires"][0])


def test_the_owner_of_a_ready_video_gets_a_playback_link_that_lasts_its_lifetime(aws: Aws, player: Playback):
    # Given a READY 8 s video with its HLS package
    video_id, _ = ready_video(aws)
    # When its owner asks for it
    status, video = player.video(video_id, "alice")
    # Then the links are on the API the request came to, under one fresh grant that lasts 2 h (the minimum)
    assert status == 200
    playback = video["playback"]
    grant = playback["hls"].removeprefix(f"{API}/playback/").split("/")[0]
    assert playback["hls"] == f"{API}/playback/{grant}/master.m3u8" and len(grant) == 43
    assert playback["thumbnails"] == f"{API}/playback/{grant}/thumbs/thumbnails.vtt"
    stored = grants_table(aws).get_item(Key={"grant_id": grant})["Item"]
    assert (stored["video_id"], stored["owner"]) == (video_id, "alice")
    assert abs(int(stored["expires_at"]) - (time.time() + 2 * 3600)) < 60


def test_no_playback_until_ready_nor_without_a_package_and_never_for_another_user(aws: Aws, player: Playback):
    processing, _ = ready_video(aws, status="PROCESSING")
    assert player.video(processing, "alice")[1]["playback"] is None
    v1, _ = ready_video(aws, with_stream=False)
    assert player.video(v1, "alice")[1]["playback"] is None
    alices, _ = ready_video(aws)
    assert player.video(alices, "bob")[0] == 404
    assert grants_table(aws).scan()["Count"] == 0  # none of these minted a grant


def test_the_master_links_each_child_playlist_to_the_same_route(aws: Aws, player: Playback):
    video_id, _ = ready_video(aws)
    hls = player.video(video_id, "alice")[1]["playback"]["hls"]
    response = player.fetch(hls)
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/vnd.apple.mpegurl"
    max_age = int(response["headers"]["cache-control"].removeprefix("private, max-age="))
    assert 0 < max_age <= 2 * 3600
    route = hls.removesuffix("master.m3u8")
    children = [line for line in response["body"].splitlines() if line and not line.startswith("#")]
    assert children == [f"{route}720p/index.m3u8", f"{route}480p/index.m3u8"]
    assert f'URI="{route}audio/index.m3u8"' in response["body"]


def test_a_media_playlist_names_presigned_urls_of_the_videos_own_chunks_with_byte_ranges_kept(
    aws: Aws, player: Playback
):
    video_id, prefix = ready_video(aws)
    bucket = aws.name("transcode", "TranscodedBucket")
    hls = player.video(video_id, "alice")[1]["playback"]["hls"]
    response = player.fetch(hls.replace("master.m3u8", "720p/index.m3u8"))
    assert response["statusCode"] == 200
    body = response["body"]
    stored = media_playlist("c{:05d}.mp4", 2)
    assert [line for line in body.splitlines() if "BYTERANGE" in line and "MAP" not in line] == [
        line for line in stored.splitlines() if "BYTERANGE" in line and "MAP" not in line
    ]
    segments = [line for line in body.splitlines() if line and not line.startswith("#")]
    init = body.split('#EXT-X-MAP:URI="', 1)[1].split('"', 1)[0]
    assert body.split(init, 1)[1].startswith('",BYTERANGE="800@0"')
    assert len(segments) == 4
    for url in [init, *segments]:
        key, expires_in = signed_key(url, bucket)
        assert key.startswith(prefix + "720p/c0000") and key.endswith(".mp4")
        assert 0 < expires_in <= 2 * 3600
        assert aws.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0  # an object that exists
    # and the audio playlist, relative to its own folder
    audio = player.fetch(hls.replace("master.m3u8", "audio/index.m3u8"))["body"]
    assert {signed_key(u, bucket)[0] for u in audio.splitlines() if u.startswith("http")} == {
        prefix + "audio/audio.mp4"
    }


def test_the_thumbnails_track_names_signed_sprites_with_their_regions(aws: Aws, player: Playback):
    video_id, prefix = ready_video(aws)
    thumbnails = player.video(video_id, "alice")[1]["playback"]["thumbnails"]
    response = player.fetch(thumbnails)
    assert response["statusCode"] == 200 and response["headers"]["content-type"] == "text/vtt"
    [cue] = [line for line in response["body"].splitlines() if line.startswith("http")]
    url, fragment = cue.split("#", 1)
    assert fragment == "xywh=0,0,160,90"
    assert signed_key(url, aws.name("transcode", "TranscodedBucket"))[0] == prefix + "thumbs/sprite-000.jpg"


def test_an_unknown_or_expired_grant_is_a_bare_404(aws: Aws, player: Playback):
    video_id, prefix = ready_video(aws)
    player.video(video_id, "alice")
    expired = "e" * 43
    grants_table(aws).put_item(
        Item={
            "grant_id": expired,
            "video_id": video_id,
            "owner": "alice",
            "prefix": prefix,
            "master": "master.m3u8",
            "bucket": aws.name("transcode", "TranscodedBucket"),
            "expires_at": int(time.time()) - 1,
        }
    )  # fmt: skip  (DynamoDB's TTL removes such an item only later)
    for grant in ("u" * 43, expired):
        response = player.fetch(f"{API}/playback/{grant}/master.m3u8")
        assert (response["statusCode"], answer(response)[1]) == (404, {"message": "not found"})


@pytest.mark.parametrize(
    "path",
    [
        "../../other/stream/v1/master.m3u8",
        "720p/../../../x/master.m3u8",
        "/videos/x/master.m3u8",
        "720p/c00000.mp4",  # media are only ever fetched by their signed URLs
        "thumbs/sprite-000.jpg",
        "missing.m3u8",
    ],
)
def test_a_path_outside_the_package_or_not_a_playlist_is_a_404(aws: Aws, player: Playback, path: str):
    video_id, _ = ready_video(aws)
    hls = player.video(video_id, "alice")[1]["playback"]["hls"]
    response = player.fetch(hls.replace("master.m3u8", path))
    assert (response["statusCode"], answer(response)[1]) == (404, {"message": "not found"})
