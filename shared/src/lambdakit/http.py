"""The edge every HTTP API route shares (API Gateway HTTP API, payload 2.0).

A route is a function of one `Request` (the verified caller, the parsed path and query
parameters, the parsed JSON body) that returns a contracts model, or None for 204:

    @route(status=201, body=CreateUpload, answers=UploadForm | MultipartUpload)
    def handler(request: Request[CreateUpload, None]) -> UploadForm | MultipartUpload:
        return start_upload(request.body, owner=request.sub, deps=deps.create_upload())

The caller comes from the authorizer's context, never from the request; a `public` route
(one API Gateway serves without the authorizer: what it serves is guarded by something in
its path) has no caller, `sub` is "". A route answers JSON, or any text as a `Content`
(its media type and headers its own). The logic's
refusals (`lambdakit.refusals`) become their status codes here, in one place, as JSON
`{"message"}`; anything unexpected is a 500 whose details stay in the logs. The API
request id is the correlation id of every log line (and of the events a route
publishes), and every request counts once in the metric ApiRequests by route and status
(`lambdakit.metrics`). `route` keeps its declaration on the handler (`handler.route`): the
OpenAPI document of the whole API (`infra.openapi`) is written from it.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import UnionType
from typing import Any, Generic, TypeVar

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ValidationError

from lambdakit.metrics import API_REQUESTS, EmfMeter
from lambdakit.refusals import Conflict, Invalid, NotFound, Refusal, TooLarge

BodyT = TypeVar("BodyT", bound=BaseModel | None)
ParamsT = TypeVar("ParamsT", bound=BaseModel | None)
Event = dict[str, Any]
Answer = BaseModel | None
logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME
meter = EmfMeter(logger.service)  # ApiRequests by route and status, once per request


class Unauthorized(Refusal):
    """No verified caller: the authorizer did not run for this route (a deployment mistake, never a user's)."""


STATUS: dict[type[Refusal], int] = {
    Invalid: 400,
    Unauthorized: 401,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
}


def status_of(refusal: Refusal) -> int:
    return next(status for kind, status in STATUS.items() if isinstance(refusal, kind))


@dataclass(frozen=True)
class Request(Generic[BodyT, ParamsT]):
    """What a route gets: who is calling (as the authorizer verified it) and what they sent, parsed."""

    sub: str
    email: str | None
    username: str | None
    params: ParamsT  # path and query parameters, in the route's `params` model
    body: BodyT  # the JSON body, in the route's `body` model
    request_id: str


@dataclass(frozen=True)
class Content:
    """A non-JSON answer: text of a media type (a playlist, a subtitle track), with headers of its own."""

    text: str
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteSpec:
    """A route's declaration: what it takes, what it answers, and which refusals it may give."""

    status: int
    body: type[BaseModel] | None
    params: type[BaseModel] | None
    answers: type[BaseModel] | UnionType | None
    refuses: tuple[type[Refusal], ...]
    summary: str
    public: bool = False
    media_types: tuple[str, ...] = ()  # what a route that answers Content answers in


def _problems(exc: ValidationError, where: str) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or where}: {e['msg']}" for e in exc.errors()[:5])


def _parse(model: type[BaseModel], document: Any, where: str) -> BaseModel:
    """Path and query parameters: strings on the wire, so a number is parsed from its text (lax)."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise Invalid(_problems(exc, where)) from None


NOT_AN_OBJECT = "the body must be a JSON object"


def _raw_body(event: Event) -> bytes:
    """The body's bytes as the client sent them: API Gateway base64-encodes what is not text."""
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8", "surrogatepass")  # a lone surrogate stays invalid UTF-8, refused below
    try:
        return base64.b64decode(body, validate=True)
    except ValueError:
        raise Invalid("the body is marked base64 but is not") from None


def _body(event: Event, model: type[BaseModel]) -> BaseModel:
    """The JSON body in the route's model, strictly: UTF-8 only, bounded depth (pydantic's parser refuses deeper
    nesting in words, where json.loads raises RecursionError), and each value of its declared JSON type."""
    try:
        return model.model_validate_json(_raw_body(event), strict=True)
    except ValidationError as exc:
        errors = exc.errors()
        if errors[0]["type"] == "json_invalid":
            reason = errors[0]["msg"].removeprefix("Invalid JSON: ")
            raise Invalid(f"{NOT_AN_OBJECT} in UTF-8: {reason}") from None
        if errors[0]["type"] == "model_type" and not errors[0]["loc"]:
            raise Invalid(NOT_AN_OBJECT) from None
        raise Invalid(_problems(exc, "body")) from None


def request_of(event: Event, spec: RouteSpec) -> Request[Any, Any]:
    context = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    if spec.public:
        context = {"sub": ""}
    elif not context.get("sub"):
        raise Unauthorized("Unauthorized")
    params: Mapping[str, str] = (event.get("queryStringParameters") or {}) | (event.get("pathParameters") or {})
    return Request(
        sub=context["sub"],
        email=context.get("email"),
        username=context.get("username"),
        params=_parse(spec.params, params, "parameters") if spec.params else None,
        body=_body(event, spec.body) if spec.body else None,
        request_id=(event.get("requestContext") or {}).get("requestId") or "",
    )


def json_response(status: int, body: Any) -> dict[str, Any]:
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": "" if payload is None else json.dumps(payload),
    }


def content_response(status: int, content: Content) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {**content.headers, "content-type": content.media_type},
        "body": content.text,
    }


Route = Callable[[Request[Any, Any]], Answer | Content]  # what @route decorates
Handler = Callable[[Event, Any], dict[str, Any]]


def route(
    *,
    status: int = 200,
    body: type[BaseModel] | None = None,
    params: type[BaseModel] | None = None,
    answers: type[BaseModel] | UnionType | None = None,
    refuses: tuple[type[Refusal], ...] = (),
    public: bool = False,
    media_types: tuple[str, ...] = (),
) -> Callable[[Route], Handler]:
    """Make a Lambda handler of a route function; see the module's docstring."""

    def decorate(function: Route) -> Handler:
        summary = (function.__doc__ or "").strip()
        spec = RouteSpec(status, body, params, answers, refuses, summary, public, media_types)

        def respond(event: Event) -> dict[str, Any]:
            route_key = event.get("routeKey")
            logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
            try:
                answer = function(request_of(event, spec))
            except Refusal as refusal:
                refused = status_of(refusal)
                logger.info("refused", extra={"route": route_key, "status": refused, "reason": refusal.message})
                return json_response(refused, {"message": refusal.message})
            except Exception:
                logger.exception("unhandled error", extra={"route": route_key})
                return json_response(500, {"message": "Internal Server Error"})
            answered = 204 if answer is None else spec.status
            logger.info("answered", extra={"route": route_key, "status": answered})
            if isinstance(answer, Content):
                return content_response(answered, answer)
            return json_response(answered, answer)

        @logger.inject_lambda_context  # cold start, request id, function name on every line
        def with_context(event: Event, context: Any) -> dict[str, Any]:
            return respond(event)

        @functools.wraps(function)
        def handler(event: Event, context: Any) -> dict[str, Any]:
            # A caller without a Lambda context (a test, a script) gets the same answer, without those keys.
            response = respond(event) if context is None else with_context(event, context)
            meter.record(API_REQUESTS, route=event.get("routeKey") or "-", status=str(response["statusCode"]))
            return response

        handler.route = spec  # type: ignore[attr-defined]
        return handler

    return decorate
