"""What running the system in production needs from every template: alarms that page early, a dashboard, API
limits and access logs, cached authorizers, point-in-time recovery and a retention policy for users' data.

Each rule takes a template and gives its problems (empty: it holds). tests/infra/test_rules.py runs them on the
packaged templates; tests/infra/test_operations_plugin.py breaks each one on a template the alarms plugin
(tools/serverless/alarms) rendered, so a rule that stopped looking fails there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from tests.infra.conftest import Template, ref_target

ALARM = "AWS::CloudWatch::Alarm"
DURATION_SHARE = 0.8  # of a function's timeout: where its duration alarm fires
MAX_ERROR_RATE = 5  # percent
# Tables whose items live minutes or hours (a socket's connection, a playback grant): nothing to recover
EPHEMERAL_TABLES = {"ConnectionsTable", "PlaybackGrantsTable"}
# Buckets that hold nothing of the users' (the framework's artifacts, the website's build)
NOT_USER_DATA = {"ServerlessDeploymentBucket", "SiteBucket"}
# What an access log line must say (API Gateway's $context variables)
ACCESS_LOG_FIELDS = (
    "$context.requestId",
    "$context.authorizer.sub",
    "$context.routeKey",
    "$context.status",
    "$context.responseLatency",
)


def alarm_metrics(alarm: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric name, {dimension: the logical id or value it names}) of each metric an alarm reads,
    whether a plain alarm or one of metric math."""
    props = alarm["Properties"]
    found = [props] if "MetricName" in props else [m["MetricStat"]["Metric"] for m in props.get("Metrics", [])
                                                    if "MetricStat" in m]  # fmt: skip
    for metric in found:
        dims = {d["Name"]: ref_target(d["Value"]) or d["Value"] for d in metric.get("Dimensions", [])}
        yield metric["Namespace"], metric["MetricName"], dims


def alarms_on(template: Template, namespace: str, dimension: str, logical_id: str) -> list[dict[str, Any]]:
    return [
        alarm
        for alarm in template.of_type(ALARM).values()
        if any(ns == namespace and dims.get(dimension) == logical_id for ns, _, dims in alarm_metrics(alarm))
    ]


def metric_names(alarm: dict[str, Any]) -> set[str]:
    return {name for _, name, _ in alarm_metrics(alarm)}


def function_alarm_problems(template: Template) -> list[str]:
    """every function has an errors alarm (> 0, or a rate of at most 5 %), a throttles alarm (> 0) and a duration
    alarm at 80 % of its own timeout"""
    problems = []
    for logical_id, function in template.of_type("AWS::Lambda::Function").items():
        alarms = alarms_on(template, "AWS/Lambda", "FunctionName", logical_id)
        errors = [a for a in alarms if "Errors" in metric_names(a)]
        if not errors:
            problems.append(f"{logical_id}: no errors alarm")
        for alarm in errors:
            props = alarm["Properties"]
            ratio = "Invocations" in metric_names(alarm)
            if not (0 <= props["Threshold"] <= (MAX_ERROR_RATE if ratio else 0)):
                problems.append(f"{logical_id}: its errors alarm waits for {props['Threshold']}")
        throttles = [a for a in alarms if metric_names(a) == {"Throttles"}]
        if not throttles or any(a["Properties"]["Threshold"] != 0 for a in throttles):
            problems.append(f"{logical_id}: no throttles alarm at > 0")
        timeout_ms = int(function["Properties"].get("Timeout", 6)) * 1000
        duration = [a for a in alarms if metric_names(a) == {"Duration"}]
        if not duration:
            problems.append(f"{logical_id}: no duration alarm")
        for alarm in duration:
            threshold = alarm["Properties"]["Threshold"]
            if threshold != round(timeout_ms * DURATION_SHARE):
                problems.append(f"{logical_id}: duration alarm at {threshold} ms, its timeout is {timeout_ms} ms")
            statistic = alarm["Properties"].get("Statistic") or alarm["Properties"].get("ExtendedStatistic")
            if statistic not in ("Maximum", "p99"):
                problems.append(f"{logical_id}: duration alarm on neither Maximum nor p99")
    return problems


def stages_of(template: Template, api: str) -> list[dict[str, Any]]:
    return [
        stage["Properties"]
        for stage in template.of_type("AWS::ApiGatewayV2::Stage").values()
        if ref_target(stage["Properties"]["ApiId"]) == api
    ]


def _throttles(limits: dict[str, Any]) -> bool:
    return bool(limits.get("ThrottlingRateLimit", 0) > 0 and limits.get("ThrottlingBurstLimit", 0) > 0)


def public_routes(template: Template, api: str) -> list[str]:
    """The route keys of an API that need no authorizer (anyone may call them)."""
    return [
        route["Properties"]["RouteKey"]
        for route in template.of_type("AWS::ApiGatewayV2::Route").values()
        if ref_target(route["Properties"]["ApiId"]) == api
        and route["Properties"].get("AuthorizationType", "NONE") == "NONE"
    ]


def api_problems(template: Template) -> list[str]:
    """every API's stage throttles its routes, and each public route of an HTTP API (no authorizer) on its own
    (RouteSettings: an anonymous flood is refused there, apart from the signed-in routes); every HTTP API writes
    JSON access logs (request id, caller, route, status, latency) to a log group with a retention; every API has a
    server-error rate alarm"""
    problems = []
    for api, resource in template.of_type("AWS::ApiGatewayV2::Api").items():
        websocket = resource["Properties"].get("ProtocolType") == "WEBSOCKET"
        stages = stages_of(template, api)
        if not stages:
            problems.append(f"{api}: no stage")
        for stage in stages:
            limits = stage.get("DefaultRouteSettings", {})
            if not _throttles(limits):
                problems.append(f"{api}: its stage does not throttle ({limits})")
            if websocket:
                continue  # (access logs need API Gateway's account-wide CloudWatch role: see the README)
            for key in public_routes(template, api):
                if not _throttles(stage.get("RouteSettings", {}).get(key, {})):
                    problems.append(f"{api}: public route {key} has no throttling of its own")
            logs = stage.get("AccessLogSettings")
            if not logs:
                problems.append(f"{api}: no access logs")
                continue
            try:
                line = json.loads(logs["Format"])
            except ValueError:
                problems.append(f"{api}: access log lines are not JSON")
                line = {}
            missing = [field for field in ACCESS_LOG_FIELDS if field not in line.values()]
            if missing:
                problems.append(f"{api}: access log lines lack {missing}")
            group = ref_target(logs["DestinationArn"])
            if not template.props(group or "").get("RetentionInDays"):
                problems.append(f"{api}: its access log group keeps logs forever")
        wanted = {"ExecutionError", "IntegrationError"} if websocket else {"5xx", "Count"}
        rates = [
            a
            for a in alarms_on(template, "AWS/ApiGateway", "ApiId", api)
            if wanted <= metric_names(a) and 0 < a["Properties"]["Threshold"] <= MAX_ERROR_RATE
        ]
        if not rates:
            problems.append(f"{api}: no alarm on its server-error rate (at most {MAX_ERROR_RATE} %)")
    return problems


def authorizer_problems(template: Template) -> list[str]:
    """the HTTP APIs' authorizers cache their answer for a few minutes, keyed on the Authorization header"""
    problems = []
    apis = template.of_type("AWS::ApiGatewayV2::Api")
    for logical_id, authorizer in template.of_type("AWS::ApiGatewayV2::Authorizer").items():
        props = authorizer["Properties"]
        if apis.get(ref_target(props["ApiId"]) or "", {}).get("Properties", {}).get("ProtocolType") == "WEBSOCKET":
            continue  # API Gateway caches no WebSocket authorizer
        if not 60 <= int(props.get("AuthorizerResultTtlInSeconds", 0)) <= 3600:
            problems.append(f"{logical_id}: caches its answers {props.get('AuthorizerResultTtlInSeconds', 0)} s")
        if props.get("IdentitySource") != ["$request.header.Authorization"]:
            problems.append(f"{logical_id}: cached by {props.get('IdentitySource')}, not the Authorization header")
    return problems


def state_machine_alarm_problems(template: Template) -> list[str]:
    """every state machine has an alarm on failed, timed-out and aborted executions (> 0)"""
    wanted = {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    problems = []
    for logical_id in template.of_type("AWS::StepFunctions::StateMachine"):
        alarms = alarms_on(template, "AWS/States", "StateMachineArn", logical_id)
        watched = set().union(*(metric_names(a) for a in alarms if a["Properties"]["Threshold"] == 0))
        if not wanted <= watched:
            problems.append(f"{logical_id}: no alarm on {sorted(wanted - watched)}")
    return problems


def dashboard_problems(template: Template) -> list[str]:
    """a service with functions has a dashboard that plots each function, API, queue, state machine and the
    application's own metrics (Video24)"""
    functions = template.of_type("AWS::Lambda::Function")
    if not functions:
        return []
    bodies = [d["Properties"]["DashboardBody"] for d in template.of_type("AWS::CloudWatch::Dashboard").values()]
    if not bodies:
        return ["no dashboard"]
    text = " ".join(body["Fn::Sub"] if isinstance(body, dict) else str(body) for body in bodies)
    plotted = [
        *functions,
        *template.of_type("AWS::ApiGatewayV2::Api"),
        *template.of_type("AWS::StepFunctions::StateMachine"),
    ]
    problems = [f"the dashboard does not plot {lid}" for lid in plotted if f"${{{lid}}}" not in text]
    problems += [
        f"the dashboard does not plot {lid}"
        for lid in template.of_type("AWS::SQS::Queue")
        if f"${{{lid}.QueueName}}" not in text
    ]
    if "Video24" not in text:
        problems.append("the dashboard does not plot the Video24 metrics")
    return problems


def table_problems(template: Template) -> list[str]:
    """every table but those of minutes-long items has point-in-time recovery"""
    return [
        f"{logical_id}: no point-in-time recovery"
        for logical_id, table in template.of_type("AWS::DynamoDB::Table").items()
        if logical_id not in EPHEMERAL_TABLES
        and not table["Properties"].get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
    ]


def retention_problems(template: Template) -> list[str]:
    """every bucket and table of users' data says what becomes of it when its stack goes or it is replaced (the
    same for both: Retain, or Delete in a throw-away stage)"""
    problems = []
    for kind in ("AWS::S3::Bucket", "AWS::DynamoDB::Table"):
        for logical_id, resource in template.of_type(kind).items():
            if logical_id in NOT_USER_DATA or logical_id in EPHEMERAL_TABLES:
                continue
            policies = (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy"))
            if policies[0] not in ("Retain", "Delete") or policies[0] != policies[1]:
                problems.append(f"{logical_id}: DeletionPolicy, UpdateReplacePolicy {policies}")
    return problems


RULES: list[Callable[[Template], list[str]]] = [
    function_alarm_problems,
    api_problems,
    authorizer_problems,
    state_machine_alarm_problems,
    dashboard_problems,
    table_problems,
    retention_problems,
]
