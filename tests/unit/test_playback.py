"""Signed playlists: the URI rewriter, and the rules of a playback grant (lifetime, reuse, what it serves, where
its links point)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from catalog.adapters.dynamo import from_item
from catalog.logic.items import VideoItem
from catalog.logic.playback import (
    GrantDeps,
    PlaybackDeps,
    grant_lifetime,
    playback_file,
    playback_for,
)
from catalog.logic.playlists import UnsafeUri, package_path, resolve, rewrite_playlist, rewrite_track
from catalog.logic.ports import Grant
from lambdakit.refusals import NotFound

pytestmark = pytest.mark.service("metadata")

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
VIDEO = "0123456789abcdef0123456789abcdef"
PREFIX = f"videos/{VIDEO}/stream/t1/"
BASE = "https://api.example.com"

MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1500000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="audio"
720p/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="720p/iframes.m3u8"
"""
MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="c00000.mp4",BYTERANGE="812@0"
#EXTINF:2.002000,
#EXT-X-BYTERANGE:50000@812
c00000.mp4
#EXTINF:2.002000,
#EXT-X-BYTERANGE:48000@50812
c00000.mp4
#EXTINF:1.001000,
#EXT-X-BYTERANGE:20000@812
c00001.mp4
#EXT-X-ENDLIST
"""
TRACK = """WEBVTT

00:00:00.000 --> 00:00:10.000
sprite-000.jpg#xywh=0,0,160,90

cue-2
00:00:10.000 --> 00:00:13.000
sprite-000.jpg#xywh=160,0,160,90
"""


def tag(path: str) -> str:
    return f"<{path}>"


# --- the rewriter ------------------------------------------------------------------------------------------------


def test_every_uri_line_and_uri_attribute_of_a_master_is_linked_and_nothing_else_changes():
    rewritten = rewrite_playlist(MASTER, "master.m3u8", tag)
    assert 'URI="<audio/index.m3u8>"' in rewritten  # EXT-X-MEDIA
    assert 'URI="<720p/iframes.m3u8>"' in rewritten  # EXT-X-I-FRAME-STREAM-INF
    assert "\n<720p/index.m3u8>\n" in rewritten
    assert 'CODECS="avc1.64001f,mp4a.40.2",AUDIO="audio"' in rewritten  # other quoted attributes untouched
    assert rewritten.replace("<", "").replace(">", "") == MASTER


def test_a_media_playlist_resolves_against_its_folder_and_keeps_byte_ranges():
    rewritten = rewrite_playlist(MEDIA, "720p/index.m3u8", tag)
    assert '#EXT-X-MAP:URI="<720p/c00000.mp4>",BYTERANGE="812@0"' in rewritten
    lines = rewritten.splitlines()
    assert [line for line in lines if not line.startswith("#")] == ["<720p/c00000.mp4>"] * 2 + ["<720p/c00001.mp4>"]
    assert [line for line in lines if "BYTERANGE:" in line] == [
        "#EXT-X-BYTERANGE:50000@812",
        "#EXT-X-BYTERANGE:48000@50812",
        "#EXT-X-BYTERANGE:20000@812",
    ]


def test_a_thumbnails_track_links_each_cue_image_and_keeps_its_fragment_and_timings():
    rewritten = rewrite_track(TRACK, "thumbs/thumbnails.vtt", tag)
    assert "<thumbs/sprite-000.jpg>#xywh=0,0,160,90" in rewritten
    assert "<thumbs/sprite-000.jpg>#xywh=160,0,160,90" in rewritten
    assert "cue-2\n00:00:10.000 --> 00:00:13.000" in rewritten and rewritten.startswith("WEBVTT\n\n")


@pytest.mark.parametrize(
    "uri",
    [
        "../../other/c00000.mp4",
        "/videos/x/c.mp4",
        "https://evil.example/c.mp4",
        "c.mp4?x=1",
        "a\\b.mp4",
        "",
        "%2e%2e/a",
    ],
)
def test_a_uri_that_is_not_a_plain_path_inside_the_package_is_refused(uri: str):
    with pytest.raises(UnsafeUri):
        resolve("720p/index.m3u8", uri)


def test_a_relative_uri_may_climb_only_within_the_package():
    assert resolve("720p/index.m3u8", "../audio/index.m3u8") == "audio/index.m3u8"
    with pytest.raises(UnsafeUri):
        resolve("720p/index.m3u8", "../../x.m3u8")


@pytest.mark.parametrize("path", ["../master.m3u8", "a/../../b.m3u8", "/master.m3u8", "a//b.m3u8", "./a.m3u8", ""])
def test_package_paths_have_no_dot_empty_or_absolute_segments(path: str):
    assert package_path(path) is None


# --- the grant ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "lifetime"),
    [
        (None, timedelta(hours=2)),
        (10, timedelta(hours=2)),  # a short clip: at least 2 h
        (1800, timedelta(hours=2)),
        (3 * 3600, timedelta(hours=7)),  # twice the video, plus an hour
        (4 * 3600, timedelta(hours=9)),  # the longest allowed video, start to end twice
        (20 * 3600, timedelta(hours=24)),  # never more than a day
    ],
)
def test_a_grant_lasts_twice_the_video_plus_an_hour_within_2_and_24_hours(duration, lifetime):
    assert grant_lifetime(duration) == lifetime


class Grants:
    """The grants table: grants by id, and each owner's live grant of a video (what `issue` last stored)."""

    def __init__(self) -> None:
        self.items: dict[str, Grant] = {}
        self.live_grants: dict[tuple[str, str], Grant] = {}
        self.reads: list[str] = []
        self.writes = 0
        self.meanwhile: Grant | None = None  # issued by another request between this one's read and its write

    def put(self, grant: Grant) -> None:
        self.items[grant.grant_id] = grant

    def get(self, grant_id: str) -> Grant | None:
        self.reads.append(grant_id)
        return self.items.get(grant_id)

    def live(self, owner: str, video_id: str, *, shared: bool = False) -> Grant | None:
        return self.live_grants.get(("(shared)" if shared else owner, video_id))

    def issue(self, grant: Grant, *, replacing: Grant | None) -> bool:
        shared = grant.share_key is not None
        if self.meanwhile:
            winner, self.meanwhile = self.meanwhile, None
            self.issue(winner, replacing=self.live(winner.owner, winner.video_id, shared=winner.share_key is not None))
        if self.live(grant.owner, grant.video_id, shared=shared) != replacing:
            return False
        self.items[grant.grant_id] = self.live_grants[("(shared)" if shared else grant.owner, grant.video_id)] = grant
        self.writes += 1
        return True


class Videos:
    """The catalog, as the playback route reads it: the grant's video, or a tombstone, or nothing."""

    def __init__(self, *items: VideoItem) -> None:
        self.items = {item.video_id: item for item in items}

    def get(self, video_id: str) -> VideoItem | None:
        return self.items.get(video_id)


class Files:
    def __init__(self, files: dict[str, str]) -> None:
        self.files, self.read = files, []

    def text(self, bucket: str, key: str) -> str | None:
        self.read.append(key)
        return self.files.get(key)


class Signer:
    def __init__(self) -> None:
        self.signed: list[tuple[str, str, int]] = []

    def url(self, bucket: str, key: str, expires_in: int) -> str:
        self.signed.append((bucket, key, expires_in))
        return f"https://signed.example/{key}?expires_in={expires_in}"


def ready_item(owner: str = "alice", **stream: Any) -> VideoItem:
    """A READY item as the table stores it (one rung, thumbnails beside the package), read as the adapter does."""
    rung = {"name": "720p", "width": 1280, "height": 720, "playlist": f"{PREFIX}720p/index.m3u8"}
    package = {
        "bucket": "transcoded",
        "master": f"{PREFIX}master.m3u8",
        "renditions": [rung | {"bandwidth": 2_000_000, "average_bandwidth": 1_500_000, "codecs": "avc1.64001f"}],
        "audio": None,
        "segment_seconds": 2,
        "duration_seconds": 3 * 3600,
    }
    thumbnails = {"bucket": "transcoded", "track": f"{PREFIX}thumbs/thumbnails.vtt", "sprites": []}
    return from_item(
        {
            "video_id": VIDEO,
            "owner": owner,
            "status": "READY",
            "duration_seconds": 3 * 3600,
            "stream": package | stream,
            "thumbnails": thumbnails | {"interval_seconds": 2, "width": 160, "height": 90},
        }
    )


def grant_deps(grants: Grants, now: datetime = NOW, token: str = "g" * 43) -> GrantDeps:
    return GrantDeps(grants=grants, api_url=BASE, clock=lambda: now, token=lambda: token)


def test_a_ready_video_gets_a_grant_for_its_package_and_links_under_the_api():
    grants = Grants()
    view = playback_for(ready_item(), grant_deps(grants))
    assert view is not None
    assert view.hls == f"{BASE}/playback/{'g' * 43}/master.m3u8"
    assert view.thumbnails == f"{BASE}/playback/{'g' * 43}/thumbs/thumbnails.vtt"
    [grant] = grants.items.values()
    assert (grant.video_id, grant.owner, grant.bucket, grant.prefix, grant.master) == (
        VIDEO,
        "alice",
        "transcoded",
        PREFIX,
        "master.m3u8",
    )
    assert grant.expires_at == NOW + timedelta(hours=7) and view.expires_at == grant.expires_at.isoformat()
    assert grant.issued_at == NOW and grants.live("alice", VIDEO) == grant


def test_the_default_grant_id_is_256_random_bits():
    grants = Grants()
    for owner in ("alice", "bob"):
        playback_for(ready_item(owner=owner), GrantDeps(grants=grants, api_url=BASE))
    first, second = grants.items
    assert first != second and len(first) == len(second) == 43


def test_repeated_requests_within_half_the_life_reuse_the_grant_and_write_nothing():
    # Given alice's first link to a 3-hour video (a 7-hour grant)
    grants = Grants()
    first = playback_for(ready_item(), grant_deps(grants, token="a" * 43))
    # When she asks again and again while more than half of it is left (3.5 h)
    later = [
        playback_for(ready_item(), grant_deps(grants, now=NOW + elapsed, token="b" * 43))
        for elapsed in (timedelta(0), timedelta(minutes=1), timedelta(hours=3, minutes=29, seconds=59))
    ]
    # Then each answer is the same link, with the same end, and nothing new was written
    assert all(view == first for view in later)
    assert grants.writes == 1 and list(grants.items) == ["a" * 43]


def test_past_half_the_life_a_new_grant_is_minted_and_becomes_the_live_one():
    grants = Grants()
    playback_for(ready_item(), grant_deps(grants, token="a" * 43))
    half = NOW + timedelta(hours=3, minutes=30)
    view = playback_for(ready_item(), grant_deps(grants, now=half, token="b" * 43))
    assert view and view.hls == f"{BASE}/playback/{'b' * 43}/master.m3u8"
    assert view.expires_at == (half + timedelta(hours=7)).isoformat()
    assert grants.live("alice", VIDEO) == grants.items["b" * 43] and grants.writes == 2
    # (the old grant is left to its end: a player that has it plays on, and DynamoDB's TTL removes it)
    assert "a" * 43 in grants.items


def test_a_grant_of_another_owner_another_video_or_another_package_is_never_reused():
    grants = Grants()
    other_video = VIDEO.replace("0", "f")
    for owner, video_id, prefix in (("bob", VIDEO, PREFIX), ("alice", other_video, f"videos/{other_video}/s/t/"),
                                    ("alice", VIDEO, f"videos/{VIDEO}/stream/t0/")):  # fmt: skip
        # (the store files grants by owner and video: a wrong one handed back must still not be used)
        grants.live_grants[("alice", VIDEO)] = Grant(
            "x" * 43, video_id, owner, "transcoded", prefix, "master.m3u8", NOW + timedelta(hours=7), issued_at=NOW
        )
        view = playback_for(ready_item(), grant_deps(grants, token="n" * 43))
        assert view and view.hls == f"{BASE}/playback/{'n' * 43}/master.m3u8", (owner, video_id, prefix)
        assert grants.live("alice", VIDEO) == grants.items["n" * 43]
        grants.items.clear()


def test_a_grant_issued_meanwhile_by_a_concurrent_request_is_the_one_given():
    # Given another request that issues its grant between this one's read and its write
    grants = Grants()
    grants.meanwhile = Grant("w" * 43, VIDEO, "alice", "transcoded", PREFIX, "master.m3u8",
                             NOW + timedelta(hours=7), issued_at=NOW)  # fmt: skip
    # When this one finds no live grant and issues its own
    view = playback_for(ready_item(), grant_deps(grants, token="l" * 43))
    # Then it gives the winner's link, and its own grant was never stored
    assert view and view.hls == f"{BASE}/playback/{'w' * 43}/master.m3u8"
    assert list(grants.items) == ["w" * 43]


@pytest.mark.parametrize("master", ["videos/someone-else/stream/t/master.m3u8", "master.m3u8", f"{PREFIX}../m.m3u8"])
def test_a_package_outside_the_videos_own_folder_gets_no_grant(master: str):
    grants = Grants()
    assert playback_for(ready_item(master=master), GrantDeps(grants=grants, api_url=BASE)) is None
    assert grants.items == {}


def serve(
    path: str,
    *,
    grant_id: str = "g" * 43,
    now: datetime = NOW,
    files: dict[str, str] | None = None,
    video: VideoItem | None = None,
    grants: Grants | None = None,
):
    grants, signer = grants or Grants(), Signer()
    grants.put(Grant("g" * 43, VIDEO, "alice", "transcoded", PREFIX, "master.m3u8", NOW + timedelta(hours=2)))
    stored = Files(files or {PREFIX + "master.m3u8": MASTER, PREFIX + "720p/index.m3u8": MEDIA})
    videos = Videos(video or ready_item())
    deps = PlaybackDeps(grants=grants, files=stored, signer=signer, videos=videos, api_url=BASE, clock=lambda: now)
    return playback_file(grant_id, path, deps), signer, stored


def test_the_master_links_its_children_to_the_same_route():
    served, signer, _ = serve("master.m3u8")
    assert served.media_type == "application/vnd.apple.mpegurl" and served.max_age == 7200
    assert f"\n{BASE}/playback/{'g' * 43}/720p/index.m3u8\n" in served.text
    assert f'URI="{BASE}/playback/{"g" * 43}/audio/index.m3u8"' in served.text
    assert signer.signed == []


def test_a_media_playlist_signs_each_chunk_file_once_until_the_grant_ends():
    served, signer, _ = serve("720p/index.m3u8", now=NOW + timedelta(minutes=30))
    assert signer.signed == [
        ("transcoded", f"{PREFIX}720p/c00000.mp4", 5400),
        ("transcoded", f"{PREFIX}720p/c00001.mp4", 5400),
    ]
    assert served.max_age == 5400
    assert f'URI="https://signed.example/{PREFIX}720p/c00000.mp4?expires_in=5400",BYTERANGE="812@0"' in served.text


@pytest.mark.parametrize(
    "path", ["c00000.mp4", "../master.m3u8", "/master.m3u8", "720p/../../x.m3u8", "a%2F..%2Fb.m3u8", "", "x.json"]
)
def test_only_playlists_and_tracks_inside_the_package_are_served(path: str):
    with pytest.raises(NotFound) as refused:
        serve(path)
    assert refused.value.message == "not found"


def test_an_unknown_or_expired_grant_is_not_found_and_reads_nothing():
    for grant_id, now in (("h" * 43, NOW), ("g" * 43, NOW + timedelta(hours=2)), ("g" * 200, NOW)):
        with pytest.raises(NotFound):
            serve("master.m3u8", grant_id=grant_id, now=now)


def test_a_grant_id_not_of_the_minted_form_is_not_found_and_looks_nothing_up():
    # (the live grant pointers, `live#{video}#{owner}`, share the table: they must never be read as grants)
    grants = Grants()
    for grant_id in (f"live#{VIDEO}#alice", "g" * 42, "g" * 44, "g" * 42 + ".", "g" * 42 + "#"):
        with pytest.raises(NotFound):
            serve("master.m3u8", grant_id=grant_id, grants=grants)
    assert grants.reads == []


def test_a_deleted_video_or_one_no_longer_the_grant_owners_is_not_served():
    tombstone = from_item({"video_id": VIDEO, "owner": "alice", "status": "DELETED", "status_rank": 5})
    for video in (tombstone, ready_item(owner="bob"), from_item({"video_id": VIDEO.replace("0", "e")})):
        with pytest.raises(NotFound) as refused:
            serve("master.m3u8", video=video)
        assert refused.value.message == "not found"


def test_a_playlist_naming_something_outside_the_package_is_not_served():
    files = {PREFIX + "master.m3u8": "#EXTM3U\n../../../other/stream/t/master.m3u8\n"}
    with pytest.raises(NotFound):
        serve("master.m3u8", files=files)


# --- subtitles ---------------------------------------------------------------------------------------------------

SUBTITLED_MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,URI="subs/0/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720,CODECS="avc1.64001f",SUBTITLES="subs"
720p/index.m3u8
"""
SUBTITLES_PLAYLIST = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:13
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:12.500000,
subtitles.vtt
#EXT-X-ENDLIST
"""
SUBTITLES = "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:02.000 --> 00:03.500\nHello\n"


def test_a_subtitle_rendition_is_linked_to_the_route_and_its_webvtt_is_signed_like_a_segment():
    # Given a package with a subtitle rendition
    files = {
        PREFIX + "master.m3u8": SUBTITLED_MASTER,
        PREFIX + "subs/0/index.m3u8": SUBTITLES_PLAYLIST,
        PREFIX + "subs/0/subtitles.vtt": SUBTITLES,
    }
    # When a player reads the master and the subtitle playlist through the grant
    master, _, _ = serve("master.m3u8", files=files)
    playlist, signer, _ = serve("subs/0/index.m3u8", files=files)

    # Then the rendition is the same route, and the WebVTT file a signed URL that ends with the grant
    assert f'URI="{BASE}/playback/{"g" * 43}/subs/0/index.m3u8"' in master.text
    assert signer.signed == [("transcoded", f"{PREFIX}subs/0/subtitles.vtt", 7200)]
    assert f"\nhttps://signed.example/{PREFIX}subs/0/subtitles.vtt?expires_in=7200\n" in playlist.text
    assert "#EXTINF:12.500000,\n" in playlist.text


def test_a_thumbnails_track_may_not_name_a_webvtt_file_and_a_subtitle_track_is_not_served_by_the_route():
    # (a cue's payload is a sprite image; a subtitle's cues are words, which are not paths to link)
    files = {
        PREFIX + "thumbs/thumbnails.vtt": "WEBVTT\n\n00:00.000 --> 00:10.000\nother.vtt\n",
        PREFIX + "subs/0/subtitles.vtt": SUBTITLES,
    }
    for path in ("thumbs/thumbnails.vtt", "subs/0/subtitles.vtt"):
        with pytest.raises(NotFound):
            serve(path, files=files)


# --- the growing stream (a video still being encoded) -------------------------------------------------------------


def processing_item(playable: float | None = 12.0, *, status: str = "PROCESSING") -> VideoItem:
    """A video being encoded whose growing stream plays `playable` seconds (the catalog's item, as stored)."""
    item: dict[str, Any] = {"video_id": VIDEO, "owner": "alice", "status": status, "progress": 0.2}
    if playable is not None:
        item |= {
            "playable_seconds": playable,
            "early_stream": {"bucket": "transcoded", "master": f"{PREFIX}master.m3u8", "duration_seconds": 600},
        }
    return from_item(item)


def test_a_video_being_encoded_plays_its_growing_stream_through_the_grant_it_keeps_when_ready():
    grants = Grants()
    # Given a video whose start is encoded: the same link as the finished video's, without previews yet
    early = playback_for(processing_item(), grant_deps(grants))
    assert early is not None and early.hls == f"{BASE}/playback/{'g' * 43}/master.m3u8"
    assert early.thumbnails is None
    [grant] = grants.items.values()
    assert (grant.prefix, grant.master) == (PREFIX, "master.m3u8")
    assert grant.expires_at == NOW + grant_lifetime(600)
    # When it is READY (the same package keys), the link given is the same grant's: a player keeps playing
    ready = playback_for(ready_item(), grant_deps(grants, token="h" * 43))
    assert ready is not None and ready.hls == early.hls and len(grants.items) == 1


@pytest.mark.parametrize(
    "item",
    [processing_item(None), processing_item(0.0), processing_item(12.0, status="UPLOADED")],
    ids=["nothing encoded yet", "no second plays yet", "not processing"],
)
def test_a_video_whose_start_is_not_encoded_gets_no_playback(item: VideoItem):
    grants = Grants()
    assert playback_for(item, grant_deps(grants)) is None and grants.items == {}


def test_the_playlists_of_a_video_being_encoded_are_not_kept_by_players_but_their_links_last():
    growing = MEDIA.replace("#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-PLAYLIST-TYPE:EVENT").replace("#EXT-X-ENDLIST\n", "")
    files = {PREFIX + "master.m3u8": MASTER, PREFIX + "720p/index.m3u8": growing}
    for path in ("master.m3u8", "720p/index.m3u8"):
        served, signer, _ = serve(path, files=files, video=processing_item())
        assert served.max_age == 1
    assert {seconds for _, _, seconds in signer.signed} == {7200}  # the segments' links last as long as the grant


def test_a_video_whose_encoding_failed_serves_no_more_playlists():
    # (a player following its growing stream gets an end, not a playlist that never grows)
    with pytest.raises(NotFound):
        serve("720p/index.m3u8", video=processing_item(status="FAILED"))
