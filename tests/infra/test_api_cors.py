"""The local gateway's CORS is each service's HTTP API's CorsConfiguration, as the framework packaged it."""

from __future__ import annotations

from infra import Cors, load
from tests.infra.conftest import Template


def test_every_route_runs_locally_with_the_cors_its_packaged_api_has(template: Template):
    routes = [r for r in load("ci").routes if r.function.startswith(f"{template.service}-")]
    apis = [  # HTTP APIs (a WebSocket API has no CORS: a browser does not preflight a WebSocket)
        api
        for api in template.of_type("AWS::ApiGatewayV2::Api").values()
        if api["Properties"]["ProtocolType"] == "HTTP"
    ]
    assert len(apis) == (1 if routes else 0)
    if not routes:
        return
    packaged = apis[0]["Properties"]["CorsConfiguration"]
    expected = Cors(
        allow_origins=tuple(packaged["AllowOrigins"]),
        allow_headers=tuple(packaged["AllowHeaders"]),
        allow_methods=tuple(packaged["AllowMethods"]),
        expose_headers=tuple(packaged.get("ExposeHeaders", ())),
        max_age=packaged.get("MaxAge"),
        allow_credentials=bool(packaged.get("AllowCredentials")),
    )
    assert {route.cors for route in routes} == {expected}
