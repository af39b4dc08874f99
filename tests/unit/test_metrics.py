"""The metrics edge: one declaration per metric, EMF lines on stdout, ApiRequests once per HTTP request."""

from __future__ import annotations

import json
import time

import pytest

from lambdakit import http
from lambdakit.http import Request, route
from lambdakit.metrics import (
    API_REQUESTS,
    AUTHORIZER_REFUSALS,
    VIDEOS_FAILED,
    VIDEOS_READY,
    EmfMeter,
    NoMeter,
    emf_line,
)
from lambdakit.refusals import NotFound
from tests.emf import emitted, values
from tests.integration.api import api_event

pytestmark = pytest.mark.service("shared")


class Context:
    function_name = "catalog-getVideo"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:catalog-getVideo"
    aws_request_id = "lambda-request-7"


@route()
def found(request: Request[None, None]) -> None:
    if request.sub == "bob":
        raise NotFound("no such video")
    if request.sub == "carol":
        raise RuntimeError("a bug")


def test_every_request_counts_once_by_route_and_status(capsys: pytest.CaptureFixture[str]):
    # Given a route that answers, refuses or fails depending on the caller
    # When three requests come in
    for sub in ("alice", "bob", "carol"):
        found(api_event("GET", "/videos/{id}", sub=sub), None)
    # Then each is one ApiRequests with its route and status, and the service's name
    counted = values(emitted(capsys), API_REQUESTS)
    assert [(value, dims["route"], dims["status"]) for value, dims in counted] == [
        (1.0, "GET /videos/{id}", "204"),
        (1.0, "GET /videos/{id}", "404"),
        (1.0, "GET /videos/{id}", "500"),
    ]
    assert {dims["service"] for _, dims in counted} == {http.logger.service}


def test_a_route_logs_with_the_lambda_context():
    # Given an invocation with a Lambda context
    found(api_event("GET", "/videos/{id}"), Context())
    # Then the request's log lines carry the request id and whether it was a cold start
    keys = http.logger.get_current_keys()
    assert keys["function_request_id"] == "lambda-request-7"
    assert keys["function_name"] == "catalog-getVideo" and "cold_start" in keys


def test_the_hand_written_line_is_what_powertools_prints(capsys: pytest.CaptureFixture[str]):
    # Given the same measurement through Powertools and through the authorizer's standard-library writer
    EmfMeter("auth").record(AUTHORIZER_REFUSALS, reason="EXPIRED")
    (from_powertools,) = emitted(capsys)
    by_hand = json.loads(emf_line(AUTHORIZER_REFUSALS, service="auth", reason="EXPIRED"))
    # Then they are the same document, but for the time each was made (milliseconds, now)
    for document in (from_powertools, by_hand):
        assert abs(document["_aws"].pop("Timestamp") - time.time() * 1000) < 60_000
    assert by_hand == from_powertools


@pytest.mark.parametrize("meter", [EmfMeter("metadata"), NoMeter()], ids=["emf", "none"])
def test_a_metric_takes_exactly_its_declared_dimensions(meter):
    with pytest.raises(ValueError, match="reason"):
        meter.record(VIDEOS_FAILED)  # its reason missing
    with pytest.raises(ValueError, match="VideosReady"):
        meter.record(VIDEOS_READY, reason="X")
    with pytest.raises(ValueError):
        emf_line(API_REQUESTS, service="auth", route="GET /me")  # no status
