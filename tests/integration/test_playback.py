"""Signed playlists against moto: GET /videos/{id} gives the owner of a READY video (or of one being encoded, once
its growing stream plays) a playback link (a grant, reused while more than half its life is left), on the API's
configured URL whatever host the request named, and GET /playback/{grant}/{path+} serves its package's playlists
with every media URI a presigned URL, until the video is deleted (or its encoding failed)."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest

from contracts import ChunkRef
from contracts.events import PlayablePrefix
from tests.integration.api import answer, api_event
from tests.integration.conftest import Aws, Context, sqs_event, use_function_env
from tests.unit import shapes

pytestmark = pytest.mark.service("metadata")

HOSTILE = {  # what a request may say about where it went: none of it may reach a link
    "host": "evil.example",
    "x-forwarded-host": "evil.example",
    "x-forwarded-proto": "http",
    "x-forwarded-port": "8080",
    "forwarded": "host=evil.example;proto=http",
}
MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="audio"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500000,AVERAGE-BANDWIDTH=400000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2",AUDIO="audio"
480p/index.m3u8
"""


# the growing stream's master (logic/growing.py): only the lowest rung, while the others are encoded
GROWING_MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=500000,AVERAGE-BANDWIDTH=400000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2",AUDIO="audio"
480p/index.m3u8
"""


def media_playlist(file: str, chunks: int, *, ended: bool = True) -> str:
    """A VOD playlist over the chunks' 2 s segments; not `ended`: the growing stream's EVENT playlist so far."""
    kind = "VOD" if ended else "EVENT"
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:2", f"#EXT-X-PLAYLIST-TYPE:{kind}"]
    lines.append(f'#EXT-X-MAP:URI="{file.format(0)}",BYTERANGE="800@0"')
    for chunk in range(chunks):
        for segment in range(2):
            lines += ["#EXTINF:2.000000,", f"#EXT-X-BYTERANGE:1000@{800 + 1000 * segment}", file.format(chunk)]
    return "\n".join([*lines, "#EXT-X-ENDLIST"] if ended else lines) + "\n"


TRACK = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nsprite-000.jpg#xywh=0,0,160,90\n\n"


class Playback:
    """The two routes, each handler with its own function's environment, called as API Gateway would."""

    def __init__(self, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
        self.aws, self.monkeypatch = aws, monkeypatch
        self.api = aws.topology.invocables["metadata-getVideo"].environment["PUBLIC_API_URL"]  # as configured

    def _event(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
        """The event API Gateway sends; `headers` what the request said about its host (the API's by default)."""
        event = api_event(method, path, **kwargs)
        headers = headers or {"host": urlsplit(self.api).hostname or "", "x-forwarded-proto": "https",
                              "x-forwarded-port": "443"}  # fmt: skip
        event["requestContext"]["domainName"] = headers["host"]
        event["headers"] |= headers
        return event

    def video(self, video_id: str, sub: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
        from catalog.handlers import get_video

        use_function_env(self.monkeypatch, self.aws.topology.invocables["metadata-getVideo"])
        event = self._event("GET", f"/videos/{video_id}", headers, sub=sub, path_parameters={"id": video_id})
        return answer(get_video.handler(event, None))

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """GET a playback URL with no caller at all (what a player sends: no Authorization header)."""
        from catalog.handlers import playback

        assert url.startswith(f"{self.api}/playback/"), url
        grant, _, path = url.removeprefix(f"{self.api}/playback/").partition("/")
        use_function_env(self.monkeypatch, self.aws.topology.invocables["metadata-servePlayback"])
        event = self._event(
            "GET", urlsplit(url).path, headers, sub=None, path_parameters={"grant": grant, "path": path}
        )
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
    # Then the links are on the API's configured URL, under one fresh grant that lasts 2 h (the minimum)
    assert status == 200
    playback, api = video["playback"], player.api
    assert api.startswith("https://") and api.endswith(".execute-api.us-east-1.amazonaws.com")
    grant = playback["hls"].removeprefix(f"{api}/playback/").split("/")[0]
    assert playback["hls"] == f"{api}/playback/{grant}/master.m3u8" and len(grant) == 43
    assert playback["thumbnails"] == f"{api}/playback/{grant}/thumbs/thumbnails.vtt"
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
        response = player.fetch(f"{player.api}/playback/{grant}/master.m3u8")
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


def test_links_name_the_configured_api_whatever_host_the_request_names(aws: Aws, player: Playback):
    # Given a READY video, and requests that name another host (Host, X-Forwarded-*, Forwarded, the domain)
    video_id, _ = ready_video(aws)
    # When its owner asks for it, and a player reads the master and a media playlist, each naming that host
    hls = player.video(video_id, "alice", headers=HOSTILE)[1]["playback"]["hls"]
    master = player.fetch(hls, headers=HOSTILE)
    media = player.fetch(hls.replace("master.m3u8", "720p/index.m3u8"), headers=HOSTILE)
    # Then every link is on the API's configured URL, and no answer names the other host
    assert hls.startswith(f"{player.api}/playback/")
    children = [line for line in master["body"].splitlines() if line and not line.startswith("#")]
    assert children and all(child.startswith(f"{player.api}/playback/") for child in children)
    assert media["statusCode"] == 200
    assert all("evil.example" not in text and ":8080" not in text for text in (hls, master["body"], media["body"]))


def pointers(aws: Aws) -> list[dict[str, Any]]:
    return [item for item in grants_table(aws).scan()["Items"] if item["grant_id"].startswith("live#")]


def test_repeated_requests_reuse_the_live_grant_and_write_nothing_new(aws: Aws, player: Playback):
    # Given a READY video its owner has asked for once
    video_id, _ = ready_video(aws)
    first = player.video(video_id, "alice")[1]["playback"]
    # When she asks again, and again
    again = [player.video(video_id, "alice")[1]["playback"] for _ in range(3)]
    # Then she gets the same links, and the table holds one grant and its owner's pointer to it
    assert all(view == first for view in again)
    assert grants_table(aws).scan()["Count"] == 2
    [pointer] = pointers(aws)
    assert pointer["grant_id"] == f"live#{video_id}#alice" and first["hls"].split("/")[-2] == pointer["live_grant"]


def test_past_half_its_life_a_grant_is_replaced_and_the_old_one_plays_to_its_end(aws: Aws, player: Playback):
    # Given alice's live grant, aged to less than half its life left (2 h long, 59 minutes left)
    video_id, _ = ready_video(aws)
    old = player.video(video_id, "alice")[1]["playback"]["hls"]
    now = int(time.time())
    grants_table(aws).update_item(
        Key={"grant_id": f"live#{video_id}#alice"},
        UpdateExpression="SET issued_at = :issued, expires_at = :expires",
        ExpressionAttributeValues={":issued": now - 3660, ":expires": now + 3540},
    )
    # When she asks again
    new = player.video(video_id, "alice")[1]["playback"]["hls"]
    # Then a new grant is minted and her pointer names it; the old link still plays until it ends
    assert new != old and player.video(video_id, "alice")[1]["playback"]["hls"] == new
    assert [p["live_grant"] for p in pointers(aws)] == [new.split("/")[-2]]
    assert player.fetch(old)["statusCode"] == 200 and player.fetch(new)["statusCode"] == 200
    assert grants_table(aws).scan()["Count"] == 3


def test_a_grant_issued_meanwhile_by_another_request_wins_and_nothing_is_written(aws: Aws):
    from datetime import UTC, datetime, timedelta

    from catalog.adapters.grants import DynamoGrants
    from catalog.logic.ports import Grant

    # Given a request that found no live grant, and another that issued one meanwhile
    grants, now = DynamoGrants(grants_table(aws)), datetime.now(UTC).replace(microsecond=0)
    video_id = uuid.uuid4().hex

    def grant(grant_id: str, owner: str = "alice", video: str = video_id) -> Grant:
        return Grant(grant_id, video, owner, "b", f"videos/{video}/stream/v1/", "master.m3u8",
                     issued_at=now, expires_at=now + timedelta(hours=2))  # fmt: skip

    assert grants.issue(grant("a" * 43), replacing=None)
    # When the first one issues its own, as if there were none, or replacing one that is no longer live
    assert not grants.issue(grant("b" * 43), replacing=None)
    assert not grants.issue(grant("c" * 43), replacing=grant("d" * 43))
    # Then it stored nothing: the live grant is the other request's, and only that grant exists
    assert grants.live("alice", video_id) == grant("a" * 43)
    assert [grants.get(g) is not None for g in ("a" * 43, "b" * 43, "c" * 43)] == [True, False, False]
    # And another owner's or another video's live grant is theirs alone
    assert grants.live("bob", video_id) is None and grants.live("alice", uuid.uuid4().hex) is None
    assert grants.issue(grant("e" * 43, owner="bob"), replacing=None)
    assert grants.live("alice", video_id) == grant("a" * 43)


def test_a_deleted_video_is_not_played_any_more_at_once(aws: Aws, player: Playback, monkeypatch: pytest.MonkeyPatch):
    from catalog.handlers import delete_video

    # Given a link a player has, and its package still in the bucket (the transcode service removes it later)
    video_id, prefix = ready_video(aws)
    hls = player.video(video_id, "alice")[1]["playback"]["hls"]
    assert player.fetch(hls)["statusCode"] == 200
    # When the owner deletes the video
    use_function_env(monkeypatch, aws.topology.invocables["metadata-deleteVideo"])
    event = api_event("DELETE", f"/videos/{video_id}", sub="alice", path_parameters={"id": video_id})
    assert answer(delete_video.handler(event, None))[0] == 204
    # Then its playlists are refused at once, though its files are still there
    assert aws.keys(aws.name("transcode", "TranscodedBucket"), prefix)
    for path in ("master.m3u8", "720p/index.m3u8", "thumbs/thumbnails.vtt"):
        response = player.fetch(hls.replace("master.m3u8", path))
        assert (response["statusCode"], answer(response)[1]) == (404, {"message": "not found"})


def growing_video(aws: Aws, catalog: Any) -> tuple[str, str]:
    """A video still being encoded whose growing stream plays its first 4 s (of 8): the lowest rung and the audio
    as EVENT playlists under a master naming that rung only, as the catalog learns of it from the workflow's
    VideoTranscodeProgress."""
    video_id, bucket = uuid.uuid4().hex, aws.name("transcode", "TranscodedBucket")
    prefix = f"videos/{video_id}/stream/v1/"
    files = {
        "master.m3u8": GROWING_MASTER,
        "480p/index.m3u8": media_playlist("c{:05d}.mp4", 1, ended=False),
        "audio/index.m3u8": media_playlist("a{:05d}.mp4", 1, ended=False),
        "480p/c00000.mp4": "media",
        "audio/a00000.mp4": "media",
    }
    for path, text in files.items():
        aws.client("s3").put_object(Bucket=bucket, Key=prefix + path, Body=text.encode())
    playable = PlayablePrefix(bucket=bucket, master=f"{prefix}master.m3u8", seconds=4, duration_seconds=8)
    event = shapes.progress(video_id, 1, 4, encoded=0.1, playable=playable)
    assert catalog.on_video_event(sqs_event(event.model_dump_json()), Context()) == {"batchItemFailures": []}
    return video_id, prefix


def test_a_video_being_encoded_plays_its_growing_stream_fetched_afresh_until_it_fails(
    aws: Aws, player: Playback, catalog: Any
):
    # Given a video still PROCESSING whose first 4 s play (the catalog heard it from the workflow)
    video_id, prefix = growing_video(aws, catalog)
    # When its owner asks for it
    status, video = player.video(video_id, "alice")
    # Then it is PROCESSING with a link to the growing stream's master (no thumbnails yet), and says how far it plays
    assert (status, video["status"], video["playable_seconds"]) == (200, "PROCESSING", 4)
    playback = video["playback"]
    assert playback["hls"].endswith("/master.m3u8") and playback["thumbnails"] is None
    # And a player gets its playlists to fetch again within a second (they grow), each naming the lowest rung's
    master = player.fetch(playback["hls"])
    media = player.fetch(playback["hls"].replace("master.m3u8", "480p/index.m3u8"))
    for response in (master, media):
        assert (response["statusCode"], response["headers"]["cache-control"]) == (200, "private, max-age=1")
    children = [line for line in master["body"].splitlines() if line and not line.startswith("#")]
    assert [child.rsplit("/", 2)[-2:] for child in children] == [["480p", "index.m3u8"]]
    assert "#EXT-X-ENDLIST" not in media["body"]
    bucket = aws.name("transcode", "TranscodedBucket")
    assert [signed_key(u, bucket)[0] for u in media["body"].splitlines() if u.startswith("http")][-1] == (
        prefix + "480p/c00000.mp4"
    )

    # When the encoding fails for good
    failed = shapes.failed(video_id, chunk=ChunkRef(index=1, start_seconds=4, end_seconds=8))
    assert catalog.on_video_event(sqs_event(failed.model_dump_json()), Context()) == {"batchItemFailures": []}
    # Then the link it had plays no more (a player stops, instead of waiting for a stream that never grows), and
    # the video offers none
    for path in ("master.m3u8", "480p/index.m3u8", "audio/index.m3u8"):
        response = player.fetch(playback["hls"].replace("master.m3u8", path))
        assert (response["statusCode"], answer(response)[1]) == (404, {"message": "not found"})
    status, video = player.video(video_id, "alice")
    assert (status, video["status"], video["playback"], video["playable_seconds"]) == (200, "FAILED", None, None)


def test_a_grant_id_of_another_form_is_a_bare_404(aws: Aws, player: Playback):
    # (the live grant pointers share the table: `live#{video}#{owner}` must never read as a grant)
    video_id, _ = ready_video(aws)
    player.video(video_id, "alice")
    for grant in (f"live#{video_id}#alice", "g" * 42, "g" * 44, "g" * 42 + "."):
        response = player.fetch(f"{player.api}/playback/{grant}/master.m3u8")
        assert (response["statusCode"], answer(response)[1]) == (404, {"message": "not found"})
