"""A service's `websocket` events read into the topology as the framework deploys them: the routes, the $connect
authorizer resolved to a function (by the ARN another service exports, or by name), and the framework's
WebsocketsApi, whose Ref and !Sub give the management URL the notifier is configured with."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import TopologyError, WebSocketApi, WebSocketRoute, load
from tests.websocket_service import PUSH, write_repo

pytestmark = pytest.mark.service("tools")


def test_websocket_routes_have_their_functions_and_the_exported_authorizer(tmp_path: Path):
    # Given a push service whose $connect is guarded by the auth service's exported authorizer ARN
    root = write_repo(tmp_path, tmp_path / "events")

    # When the topology is read
    topology = load("dev", root=root)

    # Then each websocket event is a route; $connect names the auth service's function and the token's place
    assert topology.websocket_routes == [
        WebSocketRoute("$connect", "push-connect", "auth-authorizer", ("route.request.querystring.token",)),
        WebSocketRoute("$disconnect", "push-disconnect"),
        WebSocketRoute("$default", "push-ping"),
    ]
    # and the framework's WebsocketsApi has a made-up id that Ref and !Sub give the same on every read
    [api] = topology.websocket_apis
    assert api.service == "push" and len(api.api_id) == 10
    assert api.route_selection == "$request.body.action"
    assert api.management_url == f"https://{api.api_id}.execute-api.us-east-1.amazonaws.com/dev"
    assert topology.invocables["push-notify"].environment["WEBSOCKET_MANAGEMENT_URL"] == api.management_url
    assert load("dev", root=root).websocket_apis == [api]
    # the connect function's table and the notifier's queue are read like any other
    assert topology.invocables["push-connect"].environment["CONNECTIONS_TABLE"] == "video24-push-dev-connections"
    [notifier] = topology.functions
    assert notifier.key == "push-notify" and notifier.reports_batch_failures
    # and no HTTP API is made up for a service without httpApi events
    assert topology.routes == []


SELECTION = "    EVENTS_DIR: {events}\n  websocketsApiRouteSelectionExpression: $request.body.type\n"


def test_the_short_forms_an_authorizer_by_name_and_a_route_selection_expression(tmp_path: Path):
    service = (
        PUSH.replace("    EVENTS_DIR: {events}\n", SELECTION)
        .replace(
            "          authorizer:\n            name: auth\n"
            "            arn: !ImportValue video24-auth-${{sls:stage}}-AuthorizerFunctionArn\n"
            "            identitySource: [route.request.querystring.token]\n",
            "          authorizer: guard\n",
        )
        .replace("{{websocket: {{route: $default}}}}", "{{websocket: $default}}")
        .replace("functions:\n", "functions:\n  guard: {{handler: fakepush/handlers.connect}}\n")
    )
    root = write_repo(tmp_path, tmp_path / "events")
    (root / "services/push/serverless.yml").write_text(service.format(events=tmp_path / "events"))

    topology = load("dev", root=root)

    connect, _, default = topology.websocket_routes
    assert connect == WebSocketRoute("$connect", "push-connect", "push-guard", ("route.request.header.Auth",))
    assert default == WebSocketRoute("$default", "push-ping")
    assert [api.route_selection for api in topology.websocket_apis] == ["$request.body.type"]
    assert isinstance(topology.websocket_apis[0], WebSocketApi)


def test_an_authorizer_that_is_no_function_or_on_another_route_is_refused(tmp_path: Path):
    root = write_repo(tmp_path, tmp_path / "events")
    path = root / "services/push/serverless.yml"
    declared = path.read_text()
    path.write_text(declared.replace("arn: !ImportValue", "arn: arn:aws:lambda:us-east-1:1:function:x\n# "))
    with pytest.raises(TopologyError, match="is not a function of any service"):
        load("dev", root=root)
    path.write_text(declared.replace("route: $connect", "route: $default").replace("{route: $default}", "$connect"))
    with pytest.raises(TopologyError, match="only authorizes \\$connect"):
        load("dev", root=root)
