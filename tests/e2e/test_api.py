"""The local HTTP API as a client sees it: the authorizer in front of every route, forms that S3 accepts."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.e2e.conftest import Stack

VIDEO = {"filename": "clip.mp4", "content_type": "video/mp4", "size": 1000}


def test_no_token_or_a_bad_token_is_401_and_never_reaches_the_route(stack: Stack):
    api = stack.stack.api
    assert requests.post(f"{api}/uploads", json=VIDEO, timeout=10).status_code == 401
    for header in ("Bearer garbage", "Basic YWxpY2U6cHc=", f"Bearer {stack.stack.issuer.token('alice', exp=1)}"):
        response = requests.post(f"{api}/uploads", json=VIDEO, headers={"Authorization": header}, timeout=10)
        assert response.status_code == 401, header
        assert response.json() == {"message": "Unauthorized"}


def test_unknown_routes_are_404(stack: Stack):
    token = stack.stack.issuer.token("alice")
    response = requests.get(f"{stack.stack.api}/nope", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 404


def test_the_jwks_is_served_for_the_authorizer(stack: Stack):
    keys = requests.get(f"{stack.stack.api}/.well-known/jwks.json", timeout=10).json()["keys"]
    assert [k["kid"] for k in keys] == [stack.stack.issuer.kid]


def test_a_signed_in_user_uploads_through_the_form_and_the_video_becomes_ready(stack: Stack, small_clip: Path):
    # Given alice's token
    token = stack.stack.issuer.token("alice")
    # When she asks for a form and posts her file with it, as a browser would
    size = small_clip.stat().st_size
    form = requests.post(
        f"{stack.stack.api}/uploads",
        json={"filename": "holiday.mp4", "content_type": "video/mp4", "size": size},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert form.status_code == 201, form.text
    with small_clip.open("rb") as file:
        posted = requests.post(
            form.json()["url"],
            data=form.json()["fields"],
            files={"file": ("holiday.mp4", file, "video/mp4")},
            timeout=30,
        )
    assert posted.status_code in (200, 201, 204), posted.text
    # Then the video ends READY, owned by her verified subject
    item = stack.final_item(form.json()["video_id"])
    assert item["status"] == "READY"
    assert item["owner"] == form.json()["fields"]["key"].split("/")[1]
