"""Every HTTP route, fuzzed from its OpenAPI document: what schemathesis makes of shared/openapi.json (data that
fits the schema, and data mutated not to) goes through the local gateway (devstack.gateway: routing, path
parameters, base64 for bodies that are not UTF-8) to the route's real handler, in-process on moto's mock_aws, with a
signed-in caller in the authorizer's context. No answer is a 500; every 4xx is JSON {"message": "..."}; every 2xx
is what the route declares (its answer model, or its media type for text).

The examples are bounded (30 a route and mode: 570 requests) and derandomized, so CI sends the same cases every
time; the module takes about 12 s on one core. What no generator sends (bodies nested thousands deep, bytes that
are not UTF-8, a forged cursor) is sent by hand through the same gateway at the end.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import TypeAdapter, ValidationError
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.gateway import Gateway
from infra import ROOT, Route
from tests.integration.conftest import Aws, moto_stack, use_function_env
from tools.openapi import route_spec

pytestmark = pytest.mark.service("upload", "metadata", "auth")

DOCUMENT = ROOT / "shared" / "openapi.json"
# The token is not generated (nor mutated): the authorizer is stood in for, with a signed-in caller.
SCHEMA = schemathesis.openapi.from_path(
    DOCUMENT, config=schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
)
OPERATIONS = {operation.label: operation for operation in (result.ok() for result in SCHEMA.get_all_operations())}
CALLER = {"sub": "fuzz-caller", "username": "fuzzer", "email": "fuzzer@example.com"}
TOKEN = {"Authorization": "Bearer fuzz"}  # the gateway calls the authorizer only when there is one
EXAMPLES = 30  # per route and mode: 19 runs (10 routes, 8 with negative data) x 30 = 570 requests
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run and machine
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


# Routes no data can be wrong for: GET /me takes nothing but the token; any text is a grant and a path (every
# wrong one gets the same 404).
NOTHING_TO_MUTATE = {"GET /me", "GET /playback/{grant}/{path}"}
RUNS = [(label, GenerationMode.POSITIVE) for label in sorted(OPERATIONS)] + [
    (label, GenerationMode.NEGATIVE) for label in sorted(OPERATIONS) if label not in NOTHING_TO_MUTATE
]


def _path(route: Route) -> str:
    return route.path.replace("+}", "}")  # a greedy {name+} is a plain path parameter in OpenAPI


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_stack() as stack:
        seed(stack)
        yield stack


class Api:
    """The local gateway in front of the routes' own handlers, served to schemathesis as a WSGI app."""

    def __init__(self, aws: Aws, on_route: Callable[[str], None]) -> None:
        topology, self._on_route = aws.topology, on_route
        self.authorizers = {route.authorizer for route in topology.routes if route.authorizer}
        self.handlers = {r.function: topology.invocables[r.function].load_handler() for r in topology.routes}
        self.gateway = Gateway(self._invoke)
        self.gateway.set_routes(topology.routes)

    def _invoke(self, key: str, event: dict[str, Any]) -> dict[str, Any]:
        if key in self.authorizers:  # a signed-in caller: the authorizer has tests of its own
            return {"result": {"isAuthorized": True, "context": CALLER}}
        self._on_route(key)
        return {"result": self.handlers[key](event, None)}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {name[5:].replace("_", "-").lower(): value for name, value in environ.items()
                   if name.startswith("HTTP_")}  # fmt: skip
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        path, query = environ.get("RAW_URI") or quote(environ["PATH_INFO"]), environ.get("QUERY_STRING")
        target = path.split("?")[0] + (f"?{query}" if query else "")  # werkzeug's RAW_URI has no query
        response = self.gateway.handle(environ["REQUEST_METHOD"], target, headers, body)
        phrase = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        start_response(f"{response.status} {phrase}", list(response.headers.items()))
        return [response.body]


def seed(aws: Aws) -> None:
    """One video of the caller's, so that GET /videos lists something to check."""
    item = {"video_id": "fuzzvideo0001", "owner": CALLER["sub"], "title": "clip.mp4", "status": "UPLOADED",
            "status_rank": 1, "created_at": "2026-11-26T10:00:00+00:00"}  # fmt: skip
    aws.client("dynamodb").put_item(
        TableName=aws.name("metadata", "CatalogTable"),
        Item={k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in item.items()},
    )


def a_4xx_is_json_with_a_message(ctx: Any, response: Any, case: Any) -> bool | None:
    if 400 <= response.status_code < 500:
        body = json.loads(response.content)
        assert isinstance(body, dict) and isinstance(body.get("message"), str), f"{response.status_code}: {body}"
    return None


def a_2xx_is_what_the_route_declares(declared: Any) -> Callable[[Any, Any, Any], bool | None]:
    answers = TypeAdapter(declared.answers) if declared.answers is not None else None

    def a_2xx_is_as_declared(ctx: Any, response: Any, case: Any) -> bool | None:
        if not 200 <= response.status_code < 300:
            return None
        media_type = next((v[0] for k, v in response.headers.items() if k.lower() == "content-type"), "")
        if answers is not None:
            assert media_type == "application/json", media_type
            try:
                answers.validate_json(response.content)  # the answer model itself (extra fields forbidden)
            except ValidationError as exc:
                raise AssertionError(f"{response.status_code} is not what the route declares: {exc}") from None
        elif declared.media_types:
            assert media_type in declared.media_types, media_type
        else:
            assert response.status_code == 204 and not response.content
        return None

    return a_2xx_is_as_declared


def test_every_route_of_every_service_is_fuzzed(aws: Aws):
    document = json.loads(DOCUMENT.read_text())
    in_document = {f"{method.upper()} {path}" for path, methods in document["paths"].items() for method in methods}
    declared = {f"{route.method} {_path(route)}" for route in aws.topology.routes}
    assert set(OPERATIONS) == in_document == declared
    assert set(OPERATIONS) >= NOTHING_TO_MUTATE


@pytest.mark.parametrize(("label", "mode"), RUNS, ids=[f"{label} {mode}" for label, mode in RUNS])
def test_no_route_answers_500_and_every_refusal_is_a_message(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, label: str, mode: GenerationMode
):
    # Given the route's handler with its function's environment, behind the gateway, with a signed-in caller
    route = next(r for r in aws.topology.routes if f"{r.method} {_path(r)}" == label)
    use_function_env(monkeypatch, aws.topology.invocables[route.function])
    reached: list[str] = []
    app = Api(aws, reached.append)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    ours = [a_4xx_is_json_with_a_message, a_2xx_is_what_the_route_declares(route_spec(aws.topology, route))]

    # When schemathesis sends it what the document allows, and what it does not
    @FUZZ
    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call(app=app, headers=TOKEN)
        # Then no 500, every 4xx a JSON message, every 2xx as declared
        case.validate_response(response, checks=checks, additional_checks=ours)

    fuzz()
    assert route.function in reached  # the cases got past the gateway to the handler itself


def _forged_cursor(start: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(start).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("PUT", "/me", b'{"display_name":' + b"[" * 100_000),
        ("POST", "/uploads", b'{"a":' * 5_000 + b"1" + b"}" * 5_000),
        ("POST", "/uploads", '{"filename": "café.mp4", "content_type": "video/mp4", "size": 10}'.encode("latin-1")),
        ("POST", "/uploads/fuzzvideo0001/parts", b'{"upload_id": "u", "part_numbers": ["1"]}'),
        ("PUT", "/me", '{"display_name": "Bob\u202eyb"}'.encode()),
        ("GET", "/videos?cursor=" + _forged_cursor({"video_id": "fuzzvideo0001", "owner": CALLER["sub"],
                                                     "created_at": {"S": "2026"}}), b""),
    ],
    ids=["100,000 brackets", "5,000 objects", "Latin-1 body", "part number as text", "right-to-left override",
         "forged cursor"],
)  # fmt: skip
def test_what_no_generator_sends_is_refused_in_words_by_the_real_routes(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, method: str, target: str, body: bytes
):
    # Given the real routes behind the gateway (each function's environment: they differ only in service name)
    use_function_env(monkeypatch, *[aws.topology.invocables[key] for key in {r.function for r in aws.topology.routes}])
    app = Api(aws, lambda key: None)
    # When a hostile request comes in, Then it is a 400 in words, not a 500
    response = app.gateway.handle(method, target, TOKEN | {"content-type": "application/json"}, body)
    assert response.status == 400, response.body[:200]
    assert isinstance(json.loads(response.body)["message"], str)
