"""The local HTTP API's CORS, as API Gateway applies an HTTP API's CorsConfiguration: preflights answered by the
gateway itself, the API's headers on every answer (the authorizer's 401 and 403 included), none of the function's.
And the services' declared CORS, read into the topology as the framework writes it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.gateway import JWKS_PATH, Gateway, Response
from infra import Cors, Route, load
from infra.topology import FRAMEWORK_CORS_HEADERS, api_cors

pytestmark = pytest.mark.service("tools")

SITE = "http://127.0.0.1:5173"
CORS = Cors(allow_origins=("*",), allow_headers=("Authorization", "Content-Type"), allow_methods=("POST", "DELETE"),
            max_age=3600)  # fmt: skip
PREFLIGHT = {"Origin": SITE, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}


class Functions:
    """The authorizer (tokens "good" and "denied") and the routes' functions, recording who was called."""

    def __init__(self) -> None:
        self.called: list[str] = []

    def __call__(self, key: str, event: dict[str, Any]) -> dict[str, Any]:
        self.called.append(key)
        if key == "authorizer":
            token = event["headers"].get("authorization")
            if token == "Bearer good":
                return {"result": {"isAuthorized": True, "context": {"sub": "alice"}}}
            if token == "Bearer denied":
                return {"result": {"isAuthorized": False}}
            return {"error": {"message": "Unauthorized"}}
        if key == "broken":
            return {"error": {"message": "boom"}}
        # a function that sets CORS headers of its own: API Gateway ignores them
        headers = {"content-type": "application/json", "Access-Control-Allow-Origin": "https://elsewhere.example"}
        return {"result": {"statusCode": 200, "headers": headers, "body": json.dumps({"ok": key})}}


def gateway(*routes: Route) -> tuple[Gateway, Functions]:
    functions = Functions()
    api = Gateway(functions, documents={JWKS_PATH: lambda: {"keys": []}})
    api.set_routes(
        list(routes)
        or [
            Route("POST", "/uploads", "createUpload", "authorizer", cors=CORS),
            Route("DELETE", "/uploads/{video_id}", "abortUpload", "authorizer", cors=CORS),
            Route("POST", "/broken", "broken", cors=CORS),
        ]
    )
    return api, functions


def cors_headers(response: Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-") or k == "vary"}


@pytest.mark.parametrize("path", ["/uploads", "/uploads/0123456789abcdef"])
def test_a_preflight_is_answered_by_the_gateway_without_the_authorizer_or_a_function(path: str):
    # Given routes whose API has CORS, and no OPTIONS route
    api, functions = gateway()
    # When the browser asks before a cross-origin request (to a path of any method's route)
    response = api.handle("OPTIONS", path, PREFLIGHT, b"")
    # Then the gateway answers 204 with the API's CORS, and calls nothing
    assert response.status == 204 and response.body == b""
    assert cors_headers(response) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "POST,DELETE",
        "access-control-allow-headers": "Authorization,Content-Type",
        "access-control-max-age": "3600",
    }
    assert functions.called == []


def test_a_preflight_to_a_path_no_route_has_is_404():
    api, functions = gateway()
    response = api.handle("OPTIONS", "/nope", PREFLIGHT, b"")
    assert response.status == 404 and functions.called == []


def test_an_options_request_that_is_no_preflight_is_routed_like_any_other():
    api, functions = gateway()
    assert api.handle("OPTIONS", "/uploads", {"Origin": SITE}, b"").status == 404  # no Access-Control-Request-Method
    assert functions.called == []


def test_a_route_that_takes_any_method_gets_the_preflight_itself():
    api, functions = gateway(Route("ANY", "/things", "things", cors=CORS))
    response = api.handle("OPTIONS", "/things", PREFLIGHT, b"")
    assert response.status == 200 and functions.called == ["things"]
    assert cors_headers(response) == {"access-control-allow-origin": "*"}


def test_without_cors_a_preflight_finds_no_route_and_answers_carry_no_cors():
    api, _ = gateway(Route("GET", "/things", "things"))
    assert api.handle("OPTIONS", "/things", PREFLIGHT, b"").status == 404
    response = api.handle("GET", "/things", {"Origin": SITE}, b"")
    assert response.status == 200 and "access-control-allow-origin" in response.headers  # the function's own
    assert response.headers["access-control-allow-origin"] == "https://elsewhere.example"


ANSWERS = {
    "the function's 200": ("POST", "/uploads", {"Authorization": "Bearer good"}, 200),
    "no token: 401": ("POST", "/uploads", {}, 401),
    "a bad token: 401": ("POST", "/uploads", {"Authorization": "Bearer garbage"}, 401),
    "denied: 403": ("DELETE", "/uploads/0123456789abcdef", {"Authorization": "Bearer denied"}, 403),
    "no such route: 404": ("GET", "/nope", {}, 404),
    "no such method: 404": ("PUT", "/uploads", {"Authorization": "Bearer good"}, 404),
    "the function failed: 500": ("POST", "/broken", {}, 500),
}


@pytest.mark.parametrize(("method", "path", "headers", "status"), ANSWERS.values(), ids=ANSWERS.keys())
def test_every_answer_to_a_cross_origin_request_carries_the_apis_cors_and_none_of_the_functions(
    method: str, path: str, headers: dict[str, str], status: int
):
    api, _ = gateway()
    response = api.handle(method, path, headers | {"Origin": SITE}, b"")
    assert response.status == status
    assert cors_headers(response) == {"access-control-allow-origin": "*"}


def test_a_request_without_an_origin_gets_no_cors_headers():
    api, _ = gateway()
    response = api.handle("POST", "/uploads", {"Authorization": "Bearer good"}, b"")
    assert response.status == 200 and cors_headers(response) == {}  # and not the function's either


def test_an_api_of_one_origin_names_it_and_tells_other_origins_nothing():
    # Given an API that allows only the website's origin, and exposes a header
    site_only = Cors(allow_origins=(SITE,), allow_headers=("Authorization",), allow_methods=("POST",),
                     expose_headers=("X-Request-Id",))  # fmt: skip
    api, functions = gateway(Route("POST", "/uploads", "createUpload", "authorizer", cors=site_only))
    # Then the website's preflight and answers name its origin (and vary by it)
    preflight = api.handle("OPTIONS", "/uploads", PREFLIGHT, b"")
    assert preflight.status == 204 and preflight.headers["access-control-allow-origin"] == SITE
    assert preflight.headers["vary"] == "Origin" and "access-control-max-age" not in preflight.headers
    answer = api.handle("POST", "/uploads", {"Origin": SITE, "Authorization": "Bearer good"}, b"")
    assert cors_headers(answer) == {"access-control-allow-origin": SITE, "vary": "Origin",
                                    "access-control-expose-headers": "X-Request-Id"}  # fmt: skip
    # And another origin gets no CORS header at all: its browser refuses the answer
    other = PREFLIGHT | {"Origin": "https://evil.example"}
    assert cors_headers(api.handle("OPTIONS", "/uploads", other, b"")) == {}
    assert cors_headers(api.handle("POST", "/uploads", other | {"Authorization": "Bearer good"}, b"")) == {}
    assert functions.called == ["authorizer", "createUpload", "authorizer", "createUpload"]


def test_the_fixed_documents_are_public_to_every_origin():
    api, functions = gateway()
    document = api.handle("GET", JWKS_PATH, {"Origin": SITE}, b"")
    assert document.status == 200 and json.loads(document.body) == {"keys": []}
    assert document.headers["access-control-allow-origin"] == "*"
    preflight = api.handle("OPTIONS", JWKS_PATH, PREFLIGHT | {"Access-Control-Request-Method": "GET"}, b"")
    assert preflight.status == 204 and preflight.headers["access-control-allow-origin"] == "*"
    assert functions.called == []


# -- what the services declare -----------------------------------------------------------------------------------


def test_cors_true_is_the_frameworks_defaults_with_the_services_route_methods():
    cors = api_cors(True, ["POST", "GET", "POST"], "svc")
    assert cors == Cors(allow_origins=("*",), allow_headers=FRAMEWORK_CORS_HEADERS,
                        allow_methods=("OPTIONS", "POST", "GET"))  # fmt: skip
    assert api_cors(None, ["GET"], "svc") is None
    partial = api_cors({"allowedOrigins": ["https://site.example"], "maxAge": 60}, ["ANY"], "svc")
    assert partial is not None and partial.allow_origins == ("https://site.example",) and partial.max_age == 60
    assert set(partial.allow_methods) == {"GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD", "DELETE"}


def test_every_route_has_its_apis_cors_for_the_websites_origin_and_its_method_is_allowed():
    topology = load("local", params={"webOrigin": "https://videos.example"})
    for route in topology.routes:
        assert route.cors is not None, f"{route.method} {route.path}"
        assert route.cors.allow_origins == ("https://videos.example",)
        assert route.method in route.cors.allow_methods, f"{route.method} {route.path} is not in its API's CORS"
        assert {"Authorization", "Content-Type"} <= set(route.cors.allow_headers)
    assert {r.cors.allow_origins for r in load("local").routes if r.cors} == {("*",)}  # the default
