"""Titles and sharing against moto, through the handlers: the file name as typed titles a video (UploadStarted from
the upload API), the owner renames and shares it (PATCH /videos/{id}), anyone opens an unlisted or public one by its
share id (GET /shared/{share_id}, no sign-in) and plays it through short-lived links, the public page lists public
ones (GET /public/videos), and a switch to private or a delete refuses it all at once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from infra.event_source import EventSourceMapping
from tests.integration.api import answer, api_event
from tests.integration.conftest import Aws, Context, sqs_event, use_function_env
from tests.integration.pipeline import s3_upload_event
from tests.integration.test_playback import Playback, ready_video, signed_key

pytestmark = pytest.mark.service("metadata", "upload", "auth")

TYPED = "Bob's talk, part 2 (final) #1 🎤 שלום.mp4"
HOSTILE = '<img src=x onerror="alert(1)">\u00a0"quoted" & <b>bold</b>'


class Routes(Playback):
    """The catalog's owner and public routes (and PUT /me), each handler with its own function's environment."""

    def _call(self, function: str, handler: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        use_function_env(self.monkeypatch, self.aws.topology.invocables[function])
        return answer(handler(self._event(method, path, **kwargs), Context()))

    def patch(self, video_id: str, sub: str, body: dict[str, Any]) -> tuple[int, Any]:
        from catalog.handlers import update_video

        params = {"id": video_id}
        return self._call("metadata-updateVideo", update_video.handler, "PATCH", f"/videos/{video_id}", sub=sub,
                          body=body, path_parameters=params)  # fmt: skip

    def shared(self, share_id: str) -> tuple[int, Any]:
        from catalog.handlers import shared_video

        return self._call("metadata-getSharedVideo", shared_video.handler, "GET", f"/shared/{share_id}", sub=None,
                          path_parameters={"share_id": share_id})  # fmt: skip

    def public(self, **query: str) -> tuple[int, Any]:
        from catalog.handlers import public_videos

        return self._call("metadata-listPublicVideos", public_videos.handler, "GET", "/public/videos", sub=None,
                          query=query or None)  # fmt: skip

    def delete(self, video_id: str, sub: str) -> int:
        from catalog.handlers import delete_video

        params = {"id": video_id}
        return self._call("metadata-deleteVideo", delete_video.handler, "DELETE", f"/videos/{video_id}", sub=sub,
                          path_parameters=params)[0]  # fmt: skip

    def consume(self, function: str, handler: Any) -> None:
        """Deliver what waits in the function's queue to it, as Lambda's event source mapping does."""
        use_function_env(self.monkeypatch, self.aws.topology.invocables[function])
        mapping = EventSourceMapping(self.aws.client("sqs"), self.aws.function(function), handler, retry_delay=0)
        while mapping.poll(wait_seconds=0) is not None:
            pass


@pytest.fixture
def routes(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Routes:
    return Routes(aws, monkeypatch)


def test_the_file_name_as_typed_becomes_the_title_and_the_owner_can_change_it(aws: Aws, routes: Routes):
    from catalog.handlers import uploads
    from intake.handlers import create_upload

    # Given alice asks to upload a file named with quotes, commas, '#', an emoji and Hebrew
    request = {"filename": TYPED, "content_type": "video/mp4", "size": 1000}
    status, form = routes._call("upload-createUpload", create_upload.handler, "POST", "/uploads", sub="alice",
                                body=request)  # fmt: skip
    assert status == 201
    video_id, key = form["video_id"], form["fields"]["key"]
    assert key.endswith("/Bob_s talk_ part 2 (final) _1 _ שלום.mp4")  # the key stays made-safe, apart

    # When the catalog gets UploadStarted, then the upload's S3 notification
    routes.consume("metadata-recordUpload", uploads.handler)
    use_function_env(routes.monkeypatch, aws.topology.invocables["metadata-recordUpload"])
    assert uploads.handler(sqs_event(s3_upload_event(aws, key)), Context()) == {"batchItemFailures": []}

    # Then the video is titled as she typed it
    listed = routes._call("metadata-listVideos", _list_videos(), "GET", "/videos", sub="alice")[1]["videos"]
    assert [(v["video_id"], v["title"], v["visibility"], v["share_id"]) for v in listed] == [
        (video_id, TYPED, "private", None)
    ]
    # And she may rename and describe it (hostile text is kept as text), within the limits of a display name
    status, video = routes.patch(video_id, "alice", {"title": HOSTILE, "description": "line one\nline two"})
    assert status == 200 and (video["title"], video["description"]) == (HOSTILE, "line one\nline two")
    assert routes.patch(video_id, "alice", {"title": "a\u202eb"})[0] == 400  # a format character
    assert routes.patch(video_id, "alice", {"title": "   "})[0] == 400
    assert routes.patch(video_id, "alice", {"title": "x" * 256})[0] == 400
    assert routes.patch(video_id, "alice", {})[0] == 400
    assert routes.patch(video_id, "bob", {"title": "mine now"})[0] == 404


def _list_videos() -> Any:
    from catalog.handlers import list_videos

    return list_videos.handler


def test_anyone_plays_a_shared_video_until_it_is_private_and_the_public_page_lists_public_ones(
    aws: Aws, routes: Routes
):
    from catalog.handlers import owner_names
    from identity.handlers import me

    # Given alice, who chose a display name, and her READY video
    use_function_env(routes.monkeypatch, aws.topology.invocables["auth-putMe"])
    put = me.put_handler(api_event("PUT", "/me", sub="alice", body={"display_name": "Alice ✨"}), Context())
    assert put["statusCode"] == 200
    routes.consume("metadata-recordOwnerName", owner_names.handler)
    video_id, _ = ready_video(aws)
    assert routes.patch(video_id, "alice", {"title": TYPED, "description": HOSTILE})[0] == 200

    # When she makes it unlisted
    status, video = routes.patch(video_id, "alice", {"visibility": "unlisted"})
    share_id = video["share_id"]
    assert status == 200 and video["visibility"] == "unlisted" and share_id.endswith(video_id)

    # Then anyone (no sign-in) opens it by its share id: her chosen name, never her sub, and short-lived links
    status, shared = routes.shared(share_id)
    assert status == 200
    assert (shared["title"], shared["description"], shared["owner_name"]) == (TYPED, HOSTILE, "Alice ✨")
    assert "alice" not in str({k: v for k, v in shared.items() if k != "owner_name"}).lower()
    master = routes.fetch(shared["playback"]["hls"])
    assert master["statusCode"] == 200
    child = next(line for line in master["body"].splitlines() if line.endswith(".m3u8"))
    media = routes.fetch(child)
    segment = next(line for line in media["body"].splitlines() if line.startswith("https://"))
    assert 0 < signed_key(segment, aws.name("transcode", "TranscodedBucket"))[1] <= 600  # 10 minutes at most
    # And it is not listed, and made-up or altered share ids find nothing
    assert routes.public()[1]["videos"] == []
    assert routes.shared("A" * 22 + video_id)[0] == 404
    assert routes.shared(share_id[:-1])[0] == 404
    assert routes.shared(share_id + "'--")[0] == 404

    # When she makes it public, then bob (or anyone) finds it on the public page, with her name
    routes.patch(video_id, "alice", {"visibility": "public"})
    [listed] = routes.public()[1]["videos"]
    assert (listed["share_id"], listed["title"], listed["owner_name"]) == (share_id, TYPED, "Alice ✨")
    assert set(listed) == {"share_id", "title", "owner_name", "created_at", "duration_seconds", "poster"}

    # When she makes it private: the share id, and the links already given, refuse at once
    routes.patch(video_id, "alice", {"visibility": "private"})
    assert routes.shared(share_id)[0] == 404
    assert routes.fetch(shared["playback"]["hls"])["statusCode"] == 404
    assert routes.public()[1]["videos"] == []
    # And unlisted again revives the same link (people have it); a new link kills it for good
    assert routes.patch(video_id, "alice", {"visibility": "unlisted"})[1]["share_id"] == share_id
    assert routes.shared(share_id)[0] == 200
    renewed = routes.patch(video_id, "alice", {"new_share_link": True})[1]["share_id"]
    assert renewed != share_id and routes.shared(share_id)[0] == 404 and routes.shared(renewed)[0] == 200


def test_deleting_a_public_video_removes_it_from_the_public_page_at_once(aws: Aws, routes: Routes):
    # Given two public videos of alice's
    first, _ = ready_video(aws)
    second, _ = ready_video(aws)
    shares = [routes.patch(v, "alice", {"visibility": "public"})[1]["share_id"] for v in (first, second)]
    page = routes.public(limit="1")[1]
    assert len(page["videos"]) == 1 and page["next_cursor"]
    assert (
        routes.public(limit="1", cursor=page["next_cursor"])[1]["videos"][0]["share_id"]
        != page["videos"][0]["share_id"]
    )
    # When she deletes one
    assert routes.delete(first, "alice") == 204
    # Then the public page no longer lists it, nor does its share id open it
    assert [v["share_id"] for v in routes.public()[1]["videos"]] == [shares[1]]
    assert routes.shared(shares[0])[0] == 404
    # And a cursor of another index (an owner's list) is refused in words
    from catalog.logic.cursors import encode_cursor

    owner_cursor = encode_cursor({"video_id": second, "owner": "alice", "created_at": "2026-11-28T10:00:00+00:00"})
    assert routes.public(cursor=owner_cursor or "")[0] == 400


def test_the_shared_routes_answer_the_api_url_whatever_host_a_request_names(aws: Aws, routes: Routes):
    video_id, _ = ready_video(aws)
    share_id = routes.patch(video_id, "alice", {"visibility": "unlisted"})[1]["share_id"]
    from catalog.handlers import shared_video

    use_function_env(routes.monkeypatch, aws.topology.invocables["metadata-getSharedVideo"])
    hostile = {"host": "evil.example", "x-forwarded-host": "evil.example"}
    event = routes._event("GET", f"/shared/{share_id}", hostile, sub=None, path_parameters={"share_id": share_id})
    shared = answer(shared_video.handler(event, Context()))[1]
    assert urlsplit(shared["playback"]["hls"]).hostname == urlsplit(routes.api).hostname


def test_a_late_older_display_name_never_undoes_a_newer_one(aws: Aws, routes: Routes):
    from catalog.handlers import owner_names
    from contracts import DisplayNameChanged
    from contracts.delivery import sns_message

    # Given alice's public video
    video_id, _ = ready_video(aws)
    share_id = routes.patch(video_id, "alice", {"visibility": "public"})[1]["share_id"]

    # When her second name arrives before her first (and the second again: a duplicate)
    def change(name: str, version: int) -> str:
        event = DisplayNameChanged(correlation_id="c", sub="alice", display_name=name, version=version)
        return sns_message(event)["Message"]

    use_function_env(routes.monkeypatch, aws.topology.invocables["metadata-recordOwnerName"])
    answer = owner_names.handler(sqs_event(change("Alice 2", 2), change("Alice 1", 1), change("Alice 2", 2)), Context())

    # Then every message was handled, and the newer name is the one anyone sees
    assert answer == {"batchItemFailures": []}
    assert routes.shared(share_id)[1]["owner_name"] == "Alice 2"


def test_a_view_counts_once_per_playback_session_and_only_with_a_grant_that_plays(aws: Aws, routes: Routes):
    from catalog.handlers import count_view

    # Given alice's unlisted video, its share link's playback grant and the owner's own
    video_id, _ = ready_video(aws)
    share_id = routes.patch(video_id, "alice", {"visibility": "unlisted"})[1]["share_id"]
    shared_grant = routes.shared(share_id)[1]["playback"]["hls"].removeprefix(f"{routes.api}/playback/").split("/")[0]
    owners_grant = routes.video(video_id, "alice")[1]["playback"]["hls"].removeprefix(f"{routes.api}/playback/")
    owners_grant = owners_grant.split("/")[0]

    def beacon(grant: str, session: str) -> int:
        return routes._call("metadata-countView", count_view.handler, "POST", "/views", sub=None,
                            body={"grant": grant, "session": session})[0]  # fmt: skip

    # When two viewers' sessions start, the first beacon is replayed twice, and the owner watches too
    assert beacon(shared_grant, "s" * 22) == 204
    assert beacon(shared_grant, "s" * 22) == 204  # replayed: accepted, counts nothing
    assert beacon(shared_grant, "t" * 22) == 204
    assert beacon(owners_grant, "u" * 22) == 204
    assert beacon(shared_grant, "s" * 22) == 204

    # Then three views are counted, and the owner sees them in the library and on the video
    assert routes.video(video_id, "alice")[1]["views"] == 3
    listed = routes._call("metadata-listVideos", _list_videos(), "GET", "/videos", sub="alice")[1]["videos"]
    assert [v["views"] for v in listed if v["video_id"] == video_id] == [3]
    # And a made-up grant, or the share link's once the video is private, counts nothing; a bad body is a 400
    assert beacon("g" * 43, "v" * 22) == 204
    routes.patch(video_id, "alice", {"visibility": "private"})
    assert beacon(shared_grant, "w" * 22) == 204
    assert routes.video(video_id, "alice")[1]["views"] == 3
    assert beacon(shared_grant, "short") == 400


def test_oembed_answers_an_escaped_iframe_of_the_embed_page_for_a_shared_link_only(
    aws: Aws, routes: Routes, monkeypatch: pytest.MonkeyPatch
):
    from catalog.handlers import oembed

    # Given alice's unlisted video with a hostile title, and the stage's website
    site = "https://videos.example.com"
    video_id, _ = ready_video(aws)
    share_id = routes.patch(video_id, "alice", {"visibility": "unlisted", "title": HOSTILE})[1]["share_id"]

    def ask(url: str, **query: str) -> tuple[int, Any]:
        use_function_env(monkeypatch, aws.topology.invocables["metadata-oembed"], WEBSITE_URL=site)
        event = routes._event("GET", "/oembed", sub=None, query={"url": url, **query})
        return answer(oembed.handler(event, Context()))

    # When a tool that speaks oEmbed asks about its share link
    status, embed = ask(f"{site}/v/{share_id}", maxwidth="480")

    # Then it gets a video: an iframe of the embed page, the title inert in an attribute
    assert status == 200 and (embed["type"], embed["version"], embed["title"]) == ("video", "1.0", HOSTILE)
    assert embed["html"].startswith(f'<iframe src="{site}/embed/{share_id}" width="480" height="270" ')
    assert "<img" not in embed["html"] and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in embed["html"]
    assert embed["html"].count("<") == 2 and embed["html"].endswith("</iframe>")
    # And another site's address, a made-up id, XML, or the link of a private video find nothing
    assert ask(f"https://evil.example/v/{share_id}")[0] == 404
    assert ask(f"{site}/v/{'A' * 22}{video_id}")[0] == 404
    assert ask(f"{site}/v/{share_id}", format="xml")[0] == 400
    routes.patch(video_id, "alice", {"visibility": "private"})
    assert ask(f"{site}/v/{share_id}")[0] == 404
