"""Sharing on the local stack, as people use it over HTTP: alice uploads a file named in Unicode through the API
(its title is the name as she typed it), chooses a display name, and shares her video; bob finds it on the public
page and plays it, anyone plays it unlisted by its link without signing in, and making it private or deleting it
refuses it all at once."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.demo import Client, upload
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.service("metadata", "upload", "auth")

TYPED = "Bob's talk, part 2 (final) #1 🎤 שלום.mp4"


def _get(url: str, **kwargs: Any) -> requests.Response:
    return requests.get(url, timeout=10, **kwargs)


def _plays(stack: Stack, shared: dict[str, Any]) -> bool:
    """The share link's master, a media playlist and its first segment answer a player with no token."""
    master = _get(shared["playback"]["hls"])
    if master.status_code != 200:
        return False
    child = next(line for line in master.text.splitlines() if line.startswith(stack.url("/playback/")))
    media = _get(child).text.splitlines()
    first = next(i for i, line in enumerate(media) if line.startswith("#EXT-X-BYTERANGE:"))
    length, _, offset = media[first].split(":", 1)[1].partition("@")
    segment = _get(media[first + 1], headers={"Range": f"bytes={offset}-{int(offset) + int(length) - 1}"})
    return segment.status_code == 206 and segment.content[4:8] in (b"moof", b"styp")


def _public_ids(stack: Stack) -> list[str]:
    page = _get(stack.url("/public/videos"), params={"limit": "50"})
    assert page.status_code == 200, page.text
    return [video["share_id"] for video in page.json()["videos"]]


def test_a_shared_video_plays_for_others_until_it_is_private_or_deleted(stack: Stack, small_clip: Path, tmp_path: Path):
    # Given alice, who chose a display name, uploads a file named in Unicode through the API
    alice = Client(stack.url(""), stack.forge.token("alice"))
    alice.call("PUT", "/me", json={"display_name": "Alice ✨"})
    named = tmp_path / TYPED
    shutil.copy(small_clip, named)
    video_id = upload(alice, named).video_id
    assert stack.final_item(video_id)["status"] == "READY"
    assert alice.call("GET", f"/videos/{video_id}")["title"] == TYPED

    # When she makes it unlisted
    share_id = alice.call("PATCH", f"/videos/{video_id}", json={"visibility": "unlisted"})["share_id"]

    # Then anyone, signed in or not, opens it by its link and plays it; it is not on the public page
    shared = _get(stack.url(f"/shared/{share_id}")).json()
    assert (shared["title"], shared["owner_name"], shared["status"]) == (TYPED, "Alice ✨", "READY")
    assert _plays(stack, shared)
    assert share_id not in _public_ids(stack)

    # When she makes it public, then bob finds it on the public page, with her name, and plays it
    alice.call("PATCH", f"/videos/{video_id}", json={"visibility": "public"})
    bob = {"Authorization": f"Bearer {stack.forge.token('bob')}"}
    page = _get(stack.url("/public/videos"), headers=bob).json()["videos"]
    [listed] = [video for video in page if video["share_id"] == share_id]
    assert (listed["title"], listed["owner_name"]) == (TYPED, "Alice ✨")
    assert _plays(stack, _get(stack.url(f"/shared/{listed['share_id']}"), headers=bob).json())

    # When she makes it private: its link, and the playlists of links already given, refuse at once
    alice.call("PATCH", f"/videos/{video_id}", json={"visibility": "private"})
    assert _get(stack.url(f"/shared/{share_id}")).status_code == 404
    assert _get(shared["playback"]["hls"]).status_code == 404
    assert share_id not in _public_ids(stack)

    # When she shares it again (the same link revives), then deletes it: the public page drops it at once
    assert alice.call("PATCH", f"/videos/{video_id}", json={"visibility": "public"})["share_id"] == share_id
    assert share_id in _public_ids(stack)
    assert alice.session.delete(stack.url(f"/videos/{video_id}"), timeout=10).status_code == 204
    assert share_id not in _public_ids(stack)
    assert _get(stack.url(f"/shared/{share_id}")).status_code == 404
