"""The WebSocket API's access log, on the packaged notify template: one JSON line per connect, message and
disconnect, with the fields the HTTP APIs' lines have (where a WebSocket API has them), kept 30 days; and nothing
that could record the access token (it travels in the query string `token`) or the caller's address."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import Template, load, ref_target
from tests.infra.operations_rules import stages_of

pytestmark = pytest.mark.service("notify")

# The HTTP APIs' fields (auth, upload and metadata's provider.logs.httpApi.format) a WebSocket API has, and
# what a socket's line needs besides: which event of which connection
FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "sub": "$context.authorizer.sub",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "integrationLatencyMs": "$context.integrationLatency",
    "authorizerError": "$context.authorizer.error",
    "integrationError": "$context.integration.error",
    "eventType": "$context.eventType",
    "connectionId": "$context.connectionId",
}
# What must never be in a line: the caller's address, and anything of the request that could carry the token
NEVER = ("$context.identity.sourceIp", "$input", "$request", "querystring", "$context.authorizer.token")


def websocket_stage(template: Template) -> dict[str, Any]:
    [api] = [lid for lid, r in template.of_type("AWS::ApiGatewayV2::Api").items()
             if r["Properties"].get("ProtocolType") == "WEBSOCKET"]  # fmt: skip
    [stage] = stages_of(template, api)
    return stage


def test_the_websocket_stage_writes_a_json_access_line_like_the_http_apis_to_a_kept_log_group():
    template = load("notify")
    logs = websocket_stage(template).get("AccessLogSettings")
    assert logs, "the WebSocket stage writes no access log"
    line = json.loads(logs["Format"])
    assert {k: v for k, v in line.items() if k in FIELDS} == FIELDS
    http = json.loads(load("metadata").props(http_stage(load("metadata")))["AccessLogSettings"]["Format"])
    assert {k for k in http if http[k] in FIELDS.values()} <= set(line)  # the same names for the same things
    group = log_group_of(template, logs["DestinationArn"])
    assert template.props(group).get("RetentionInDays") == 30


def test_no_log_of_the_websocket_api_records_the_token_or_the_address():
    stage = websocket_stage(load("notify"))
    text = stage["AccessLogSettings"]["Format"] if "AccessLogSettings" in stage else ""
    assert [word for word in NEVER if word.lower() in text.lower()] == []
    # API Gateway's execution log with full request data would record the $connect request, its query string too
    for settings in [stage.get("DefaultRouteSettings", {}), *stage.get("RouteSettings", {}).values()]:
        assert settings.get("DataTraceEnabled", False) is False, settings
        assert settings.get("LoggingLevel", "OFF") == "OFF", settings


def http_stage(template: Template) -> str:
    [stage] = [lid for lid, r in template.of_type("AWS::ApiGatewayV2::Stage").items()
               if ref_target(r["Properties"]["ApiId"]) == "HttpApi"]  # fmt: skip
    return stage


def log_group_of(template: Template, destination: Any) -> str:
    """The log group an access log's DestinationArn names (a GetAtt, or a Sub of its ${Name})."""
    target = ref_target(destination)
    if target is None and isinstance(destination, dict) and "Fn::Sub" in destination:
        text = destination["Fn::Sub"]
        [target] = [
            g for g in template.of_type("AWS::Logs::LogGroup") if f"${{{g}}}" in text or f"${{{g}.Arn}}" in text
        ]
    assert target, destination
    return target
