"""The local HTTP API as a client sees it: the authorizer in front of every route, forms that S3 accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.service("upload", "metadata", "auth")

VIDEO = {"filename": "clip.mp4", "content_type": "video/mp4", "size": 1000}
SITE = "http://127.0.0.1:5173"  # the website, on an origin of its own


def test_no_token_or_a_bad_token_is_401_and_never_reaches_the_route(stack: Stack):
    assert requests.post(stack.url("/uploads"), json=VIDEO, timeout=10).status_code == 401
    for header in ("Bearer garbage", "Basic YWxpY2U6cHc=", f"Bearer {stack.forge.token('alice', exp=1)}"):
        response = requests.post(stack.url("/uploads"), json=VIDEO, headers={"Authorization": header}, timeout=10)
        assert response.status_code == 401, header
        assert response.json() == {"message": "Unauthorized"}


def test_unknown_routes_are_404(stack: Stack):
    token = stack.forge.token("alice")
    response = requests.get(stack.url("/nope"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 404


def test_the_jwks_is_served_for_the_authorizer_and_the_browser(stack: Stack):
    served = requests.get(stack.deployment.issuer.jwks_url, headers={"Origin": SITE}, timeout=10)
    assert served.json()["keys"] == stack.forge.jwks()["keys"]  # exactly the issuer key's public half, under its kid
    assert served.headers["Access-Control-Allow-Origin"] == "*"  # the website's OIDC library reads it


def test_a_website_on_another_origin_may_call_the_api_as_api_gateways_cors_allows(stack: Stack):
    token = stack.forge.token("alice")
    site = stack.web or SITE  # the stage's webOrigin: the stack's own website when it serves one, else any ("*")
    allowed = site if stack.web else "*"
    # When the browser asks before a cross-origin call with a token: the gateway answers, for any route's path
    for path, method in (("/uploads", "POST"), ("/videos/0123456789abcdef", "DELETE"), ("/me", "PUT")):
        asks = {"Origin": site, "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
        preflight = requests.options(stack.url(path), headers=asks, timeout=10)
        assert preflight.status_code == 204, (path, preflight.text)
        assert preflight.headers["Access-Control-Allow-Origin"] == allowed
        assert method in preflight.headers["Access-Control-Allow-Methods"].split(",")
        assert {"authorization", "content-type"} <= set(
            preflight.headers["Access-Control-Allow-Headers"].lower().split(",")
        )
    # Then the answers it may read carry the API's CORS: the route's, and the authorizer's 401 and the gateway's 404
    mine = requests.get(stack.url("/videos"), headers={"Origin": site, "Authorization": f"Bearer {token}"}, timeout=10)
    refused = requests.get(stack.url("/videos"), headers={"Origin": site}, timeout=10)
    missing = requests.get(stack.url("/nope"), headers={"Origin": site, "Authorization": f"Bearer {token}"}, timeout=10)
    assert [r.status_code for r in (mine, refused, missing)] == [200, 401, 404]
    assert all(r.headers["Access-Control-Allow-Origin"] == allowed for r in (mine, refused, missing))
    # And a preflight to a path no route has is a 404, as any request there
    nowhere = requests.options(
        stack.url("/nope"), headers={"Origin": site, "Access-Control-Request-Method": "GET"}, timeout=10
    )
    assert nowhere.status_code == 404


def test_the_openapi_document_is_served_and_names_every_route(stack: Stack):
    served = requests.get(f"{stack.api}/openapi.json", timeout=10)
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    committed = json.loads((Path(__file__).resolve().parents[2] / "shared" / "openapi.json").read_text())
    assert served.json() == committed
    assert {(m.upper(), p) for p, ops in committed["paths"].items() for m in ops} == {
        (r.method, r.path.replace("+}", "}"))
        for r in stack.topology.routes  # OpenAPI has no greedy {name+}
    }


def test_a_signed_in_user_uploads_through_the_form_and_the_video_becomes_ready(stack: Stack, small_clip: Path):
    # Given alice's token
    token = stack.forge.token("alice")
    # When she asks for a form and posts her file with it, as a browser would
    size = small_clip.stat().st_size
    form = requests.post(
        stack.url("/uploads"),
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


def _upload_and_wait(stack: Stack, clip: Path, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"filename": "to-delete.mp4", "content_type": "video/mp4", "size": clip.stat().st_size}
    form = requests.post(stack.url("/uploads"), json=body, headers=headers, timeout=10).json()
    with clip.open("rb") as file:
        requests.post(form["url"], data=form["fields"], files={"file": file}, timeout=30).raise_for_status()
    stack.final_item(form["video_id"])
    return form["video_id"]


def test_only_the_owner_sees_and_deletes_and_deleting_removes_everything(stack: Stack, small_clip: Path):
    alice = {"Authorization": f"Bearer {stack.forge.token('alice')}"}
    bob = {"Authorization": f"Bearer {stack.forge.token('bob')}"}
    video_id = _upload_and_wait(stack, small_clip, stack.forge.token("alice"))
    video = requests.get(stack.url(f"/videos/{video_id}"), headers=alice, timeout=10).json()
    source_key = stack.item(video_id)["source"]["key"]

    # Bob can neither see, list nor delete alice's video
    assert requests.get(stack.url(f"/videos/{video_id}"), headers=bob, timeout=10).status_code == 404
    assert requests.delete(stack.url(f"/videos/{video_id}"), headers=bob, timeout=10).status_code == 404
    assert video_id not in [
        v["video_id"] for v in requests.get(stack.url("/videos"), headers=bob, timeout=10).json()["videos"]
    ]
    # Alice lists it, with a poster link that works, and its signed download works
    listed = {v["video_id"]: v for v in requests.get(stack.url("/videos"), headers=alice, timeout=10).json()["videos"]}
    assert listed[video_id]["status"] == "READY" and listed[video_id]["progress"] is None
    assert requests.get(listed[video_id]["poster"]["url"], timeout=10).status_code == 200
    assert requests.get(video["renditions"][0]["url"], timeout=10).status_code == 200

    # When alice deletes it
    assert requests.delete(stack.url(f"/videos/{video_id}"), headers=alice, timeout=10).status_code == 204

    # Then the video is gone for her (a tombstone is all the catalog keeps), and so are its files
    transcoded, uploads = stack.name("transcode", "TranscodedBucket"), stack.name("upload", "UploadsBucket")
    assert requests.get(stack.url(f"/videos/{video_id}"), headers=alice, timeout=10).status_code == 404
    assert video_id not in [
        v["video_id"] for v in requests.get(stack.url("/videos"), headers=alice, timeout=10).json()["videos"]
    ]
    assert (stack.item(video_id) or {}).get("status") == "DELETED"
    stack.wait_for(
        "renditions, poster and source deleted",
        lambda: (
            not stack.s3.list_objects_v2(Bucket=transcoded, Prefix=f"videos/{video_id}/").get("KeyCount")
            and not stack.s3.list_objects_v2(Bucket=uploads, Prefix=source_key).get("KeyCount")
        ),
    )
    # And a repeated delete is harmless
    assert requests.delete(stack.url(f"/videos/{video_id}"), headers=alice, timeout=10).status_code == 404
    stack.idle()
    assert all(not bodies for bodies in stack.dlq_bodies().values())


def test_me_shows_verified_claims_and_keeps_a_valid_display_name(stack: Stack):
    headers = {"Authorization": f"Bearer {stack.forge.token('carol')}"}
    me = requests.get(stack.url("/me"), headers=headers, timeout=10).json()
    assert (me["username"], me["email"], me["display_name"]) == ("carol", "carol@example.com", None)
    renamed = requests.put(stack.url("/me"), json={"display_name": "Carol C."}, headers=headers, timeout=10)
    assert renamed.status_code == 200
    assert requests.get(stack.url("/me"), headers=headers, timeout=10).json()["display_name"] == "Carol C."
    for bad in ({"display_name": ""}, {"display_name": "x" * 65}, {"display_name": "a\nb"}, {"sub": "someone"}):
        assert requests.put(stack.url("/me"), json=bad, headers=headers, timeout=10).status_code == 400, bad
    # the claims come from the token, never from the body
    assert requests.get(stack.url("/me"), headers=headers, timeout=10).json()["sub"] == me["sub"]
