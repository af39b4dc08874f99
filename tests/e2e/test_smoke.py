"""The smoke subset: what must hold on any deployment, checked from outside through its description alone.

`make smoke STAGE=dev` runs it against a deployed stage (`--deployment FILE`, built from the stacks'
outputs by `python -m tools.deployment`; the GitHub workflow runs it after every deploy), and `make test`
against the shared local stack's ready file, which is the same kind of description. It reaches the stage
only as its users do, over HTTPS and the WebSocket, with a test user's token (tests/smoke_user.py): no AWS
credentials, no table or bucket read. What it makes it deletes, through the API, even when a check fails.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from contracts import StatusPush
from infra.deployment import Deployment
from tests.smoke_user import smoke_user
from tests.tokens import Forge

pytestmark = [pytest.mark.smoke, pytest.mark.service("upload", "transcode", "metadata", "auth", "notify")]

READY_TIMEOUT = float(os.environ.get("SMOKE_READY_TIMEOUT", "300"))  # seconds: a cold stage's first encode
ROUTES = {"upload": ("POST", "/uploads"), "videos": ("GET", "/videos"), "me": ("GET", "/me")}
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def description(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The deployment under test: `--deployment FILE`, or else the session's local stack's ready file."""
    if path := request.config.getoption("--deployment"):
        return dict(json.loads(Path(path).read_text()))
    return dict(request.getfixturevalue("shared_stack").ready)


@pytest.fixture(scope="module")
def deployment(description: dict[str, Any]) -> Deployment:
    return Deployment.from_json(description)


@pytest.fixture(scope="module")
def user(description: dict[str, Any]) -> Any:
    return smoke_user(description, os.environ)


def auth(user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token()}"}


@pytest.fixture
def made(deployment: Deployment, user: Any) -> Iterator[list[str]]:
    """The videos a test made: deleted through the API when it ends, whatever happened."""
    videos: list[str] = []
    yield videos
    for video_id in videos:
        requests.delete(deployment.url(f"/videos/{video_id}"), headers=auth(user), timeout=30)


def call(deployment: Deployment, name: str, headers: dict[str, str]) -> requests.Response:
    method, path = ROUTES[name]
    body = {"filename": "smoke.mp4", "content_type": "video/mp4", "size": 10} if method == "POST" else None
    return requests.request(method, deployment.url(path), json=body, headers=headers, timeout=30)


def test_every_api_refuses_a_missing_or_forged_token_and_takes_the_test_users(deployment: Deployment, user: Any):
    good = auth(user)
    claims = jwt.decode(user.token(), options={"verify_signature": False})
    # a token with the user's own claims and the issuer's key id, signed by a key the issuer never had
    header = jwt.get_unverified_header(user.token())
    forged = Forge.generate(kid=header.get("kid"), issuer=claims["iss"], audience=deployment.issuer.audience)
    for name in ROUTES:
        assert call(deployment, name, {}).status_code == 401, name
        assert call(deployment, name, {"Authorization": "Bearer garbage"}).status_code == 401, name
        assert call(deployment, name, {"Authorization": f"Bearer {forged.sign(claims)}"}).status_code == 401, name
        # (after a good token the authorizer's cache does not let a forged one through, nor the other way round)
        assert call(deployment, "me", good).status_code == 200
        assert call(deployment, name, {"Authorization": f"Bearer {forged.sign(claims)}"}).status_code == 401, name
    assert requests.get(deployment.url("/nope"), headers=good, timeout=30).status_code == 404


def test_the_issuer_publishes_the_key_that_signed_the_test_users_token(deployment: Deployment, user: Any):
    keys = requests.get(deployment.issuer.jwks_url, timeout=30)
    assert keys.status_code == 200, keys.text
    kid = jwt.get_unverified_header(user.token())["kid"]
    assert kid in [key["kid"] for key in keys.json()["keys"]]


def test_the_website_may_call_the_apis_and_another_origin_may_not(deployment: Deployment):
    if not deployment.site:
        pytest.skip("this deployment has no website")
    for name, (method, path) in ROUTES.items():
        asks = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization"}
        allowed = requests.options(deployment.url(path), headers=asks | {"Origin": deployment.site}, timeout=30)
        assert allowed.headers.get("Access-Control-Allow-Origin") in (deployment.site, "*"), name
        assert "authorization" in allowed.headers.get("Access-Control-Allow-Headers", "").lower(), name
        refused = requests.options(deployment.url(path), headers=asks | {"Origin": EVIL}, timeout=30)
        assert refused.headers.get("Access-Control-Allow-Origin") in (None, "*"), name


def test_the_websocket_refuses_a_missing_or_forged_token(deployment: Deployment):
    if not deployment.websocket:
        pytest.skip("this deployment has no WebSocket API")
    for query in ("", "?token=garbage"):
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{deployment.websocket}/{query}", open_timeout=30)
        assert refused.value.response.status_code == 401, query


def test_an_upload_is_pushed_to_its_owner_plays_and_is_gone_once_deleted(
    deployment: Deployment, user: Any, small_clip: Path, made: list[str]
):
    with ExitStack() as opened:
        socket = None
        if deployment.websocket:  # (opened first: the pushes of the upload's whole life come to it)
            socket = opened.enter_context(connect(f"{deployment.websocket}/?token={user.token()}", open_timeout=30))
        # Given the test user's upload, through the form the API hands out
        body = {"filename": f"smoke's clip #{uuid.uuid4().hex[:6]} 🎬.mp4", "content_type": "video/mp4"}
        form = requests.post(
            deployment.url("/uploads"), json=body | {"size": small_clip.stat().st_size}, headers=auth(user), timeout=30
        )
        assert form.status_code == 201, form.text
        video_id = form.json()["video_id"]
        made.append(video_id)
        with small_clip.open("rb") as file:
            posted = requests.post(form.json()["url"], data=form.json()["fields"], files={"file": file}, timeout=60)
        assert posted.status_code in (200, 201, 204), posted.text

        # Then it becomes READY
        video = _ready(deployment, user, video_id)

        # And its owner was told over the WebSocket, READY last
        if socket:
            pushes = _pushes(socket, video_id)
            assert pushes[-1].status == "READY" and [p.sequence for p in pushes] == sorted(p.sequence for p in pushes)

        # And its stream plays from the playback link, with no token: master, media playlist, first bytes
        master = requests.get(video["playback"]["hls"], timeout=30)
        assert master.status_code == 200 and master.text.startswith("#EXTM3U"), master.text[:200]
        variant = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
        media = requests.get(requests.compat.urljoin(master.url, variant), timeout=30)
        assert media.status_code == 200 and "#EXTINF" in media.text, media.text[:200]
        first = next(line for line in media.text.splitlines() if line and not line.startswith("#"))
        segment = requests.get(requests.compat.urljoin(media.url, first), headers={"Range": "bytes=0-1023"}, timeout=30)
        assert segment.status_code in (200, 206) and segment.content, segment.status_code

        # And it is titled as typed; shared by link, anyone plays it with no token, until it is private again
        assert video["title"] == body["filename"], video["title"]
        shared = requests.patch(deployment.url(f"/videos/{video_id}"), json={"visibility": "unlisted"},
                                headers=auth(user), timeout=30)  # fmt: skip
        assert shared.status_code == 200 and shared.json()["share_id"], shared.text
        share = deployment.url(f"/shared/{shared.json()['share_id']}")
        anyone = requests.get(share, timeout=30)
        assert anyone.status_code == 200 and anyone.json()["title"] == body["filename"], anyone.text
        assert requests.get(anyone.json()["playback"]["hls"], timeout=30).text.startswith("#EXTM3U")
        private = requests.patch(deployment.url(f"/videos/{video_id}"), json={"visibility": "private"},
                                 headers=auth(user), timeout=30)  # fmt: skip
        assert private.status_code == 200 and requests.get(share, timeout=30).status_code == 404

        # When its owner deletes it, it is gone from the API
        assert requests.delete(deployment.url(f"/videos/{video_id}"), headers=auth(user), timeout=30).status_code == 204
        assert requests.get(deployment.url(f"/videos/{video_id}"), headers=auth(user), timeout=30).status_code == 404
        listed = requests.get(deployment.url("/videos"), headers=auth(user), timeout=30).json()["videos"]
        assert video_id not in [v["video_id"] for v in listed]


def _ready(deployment: Deployment, user: Any, video_id: str) -> dict[str, Any]:
    deadline, answer = time.monotonic() + READY_TIMEOUT, None
    while time.monotonic() < deadline:
        answer = requests.get(deployment.url(f"/videos/{video_id}"), headers=auth(user), timeout=30)
        if answer.status_code == 200 and answer.json()["status"] in ("READY", "FAILED"):
            assert answer.json()["status"] == "READY", answer.text
            return dict(answer.json())
        time.sleep(1)
    raise AssertionError(f"{video_id} not READY in {READY_TIMEOUT:.0f}s: {answer.text if answer else 'no answer'}")


def _pushes(socket: Any, video_id: str, timeout: float = 30) -> list[StatusPush]:
    """The socket's pushes about the video, up to its READY (any other push of the user's is skipped)."""
    pushes: list[StatusPush] = []
    deadline = time.monotonic() + timeout
    while not pushes or pushes[-1].status != "READY":
        try:
            push = StatusPush.model_validate_json(socket.recv(timeout=max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            raise AssertionError(f"no READY push for {video_id} in {timeout}s; so far {pushes}") from None
        if push.video_id == video_id:
            pushes.append(push)
    return pushes
