"""The alarms plugin (tools/serverless/alarms) and the operations rules (tests/infra/operations_rules.py) together.

The plugin's resources are rendered by node from a small hand-written template that keeps every rule; each test
then breaks one thing and expects exactly that rule to complain, so a rule that stopped looking fails here and
not silently on the packaged templates. The last test packages a small service with osls and the plugin.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import ROOT, Template, package_service
from tests.infra.operations_rules import (
    RULES,
    api_problems,
    authorizer_problems,
    dashboard_problems,
    function_alarm_problems,
    retention_problems,
    state_machine_alarm_problems,
    table_problems,
)

pytestmark = pytest.mark.service("tools")

Rule = Callable[[Template], list[str]]
PLUGIN = ROOT / "tools" / "serverless" / "alarms" / "operations.js"
ACCESS_LOG = {
    "requestId": "$context.requestId",
    "sub": "$context.authorizer.sub",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
}
FUNCTIONS = {
    "WorkerLambdaFunction": {"name": "worker", "requestDriven": False},
    "ApiLambdaFunction": {"name": "api", "requestDriven": True},
}


def function(timeout: int) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {"Timeout": timeout, "MemorySize": 256}}


def kept(kind: str, **props: Any) -> dict[str, Any]:
    return {"Type": kind, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": props}


def service(worker_timeout: int = 30) -> dict[str, Any]:
    """What a service declares and the framework compiles, before the plugin adds its alarms and dashboard."""
    return {
        "Resources": {
            "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "flow-ci-alarms"}},
            "WorkerLambdaFunction": function(worker_timeout),
            "ApiLambdaFunction": function(10),
            "HttpApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}},
            "HttpApiLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
            "HttpApiStage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {
                    "ApiId": {"Ref": "HttpApi"},
                    "DefaultRouteSettings": {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100},
                    "RouteSettings": {"GET /shared/{id}": {"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10}},
                    "AccessLogSettings": {
                        "DestinationArn": {"Fn::GetAtt": ["HttpApiLogGroup", "Arn"]},
                        "Format": json.dumps(ACCESS_LOG),
                    },
                },
            },
            "HttpApiRouteGetSharedIdVar": {  # a public route (no authorizer)
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": {"ApiId": {"Ref": "HttpApi"}, "RouteKey": "GET /shared/{id}"},
            },
            "HttpApiAuthorizerUser": {
                "Type": "AWS::ApiGatewayV2::Authorizer",
                "Properties": {
                    "ApiId": {"Ref": "HttpApi"},
                    "IdentitySource": ["$request.header.Authorization"],
                    "AuthorizerResultTtlInSeconds": 300,
                },
            },
            "SocketsApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "WEBSOCKET"}},
            "SocketsStage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {
                    "ApiId": {"Ref": "SocketsApi"},
                    "DefaultRouteSettings": {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100},
                },
            },
            "SocketsAuthorizer": {  # API Gateway caches no WebSocket authorizer: nothing to check
                "Type": "AWS::ApiGatewayV2::Authorizer",
                "Properties": {"ApiId": {"Ref": "SocketsApi"}, "IdentitySource": ["route.request.querystring.token"]},
            },
            "TasksQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "flow-ci-tasks"}},
            "Workflow": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {}},
            "VideosTable": kept(
                "AWS::DynamoDB::Table", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            ),
            "ConnectionsTable": {"Type": "AWS::DynamoDB::Table", "Properties": {}},  # minutes-long items
            "MediaBucket": kept("AWS::S3::Bucket"),
        }
    }


def render(document: dict[str, Any], functions: dict[str, Any] = FUNCTIONS) -> subprocess.CompletedProcess[str]:
    options = {"prefix": "flow-ci", "functions": functions, "metricsService": "flow"}
    node = shutil.which("node")
    assert node, "node is needed (the packaging tools' runtime)"
    return subprocess.run(
        [node, str(PLUGIN)],
        input=json.dumps({"template": document, "options": options}),
        capture_output=True,
        text=True,
        check=False,
    )


def packaged(worker_timeout: int = 30) -> dict[str, Any]:
    """A service's template with what the plugin adds."""
    document = service(worker_timeout)
    done = render(document)
    assert done.returncode == 0, done.stderr
    document["Resources"].update(json.loads(done.stdout))
    return document


def problems(document: dict[str, Any]) -> dict[str, list[str]]:
    template = Template("flow", document)
    return {rule.__name__: found for rule in RULES if (found := rule(template))}


@pytest.fixture(scope="module")
def good() -> dict[str, Any]:
    return packaged()


def broken(good: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> dict[str, list[str]]:
    document = copy.deepcopy(good)
    change(document["Resources"])
    return problems(document)


def test_a_service_with_what_the_plugin_adds_keeps_every_rule(good: dict[str, Any]):
    assert problems(good) == {}
    alarms = {k for k, v in good["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert {
        "WorkerLambdaFunctionErrorsAlarm",
        "WorkerLambdaFunctionThrottlesAlarm",
        "WorkerLambdaFunctionDurationAlarm",
        "HttpApiServerErrorsAlarm",
        "SocketsApiServerErrorsAlarm",
        "WorkflowFailuresAlarm",
    } <= alarms
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for k, a in good["Resources"].items()
               if k in alarms)  # fmt: skip


def test_the_duration_threshold_is_80_percent_of_the_functions_own_timeout():
    for timeout in (30, 900):
        alarm = packaged(timeout)["Resources"]["WorkerLambdaFunctionDurationAlarm"]["Properties"]
        assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == ("Duration", "Maximum", timeout * 800)


def test_a_changed_timeout_with_the_old_threshold_is_caught(good: dict[str, Any]):
    def longer(resources: dict[str, Any]) -> None:
        resources["WorkerLambdaFunction"]["Properties"]["Timeout"] = 60

    assert list(broken(good, longer)) == [function_alarm_problems.__name__]


def test_a_request_driven_functions_errors_are_a_rate_and_a_workers_any_error(good: dict[str, Any]):
    api = good["Resources"]["ApiLambdaFunctionErrorsAlarm"]["Properties"]
    assert [m["Expression"] for m in api["Metrics"] if "Expression" in m] == ["100 * FILL(errors, 0) / invocations"]
    assert api["Threshold"] == 5
    worker = good["Resources"]["WorkerLambdaFunctionErrorsAlarm"]["Properties"]
    assert (worker["MetricName"], worker["Threshold"], worker["Period"]) == ("Errors", 0, 300)


@pytest.mark.parametrize("alarm", ["Errors", "Throttles", "Duration"])
def test_a_function_without_one_of_its_alarms_is_caught(good: dict[str, Any], alarm: str):
    assert list(broken(good, lambda r: r.pop(f"ApiLambdaFunction{alarm}Alarm"))) == [function_alarm_problems.__name__]


def test_an_errors_alarm_that_waits_for_more_is_caught(good: dict[str, Any]):
    def lenient(resources: dict[str, Any]) -> None:
        resources["WorkerLambdaFunctionErrorsAlarm"]["Properties"]["Threshold"] = 3

    assert list(broken(good, lenient)) == [function_alarm_problems.__name__]


CHANGES: dict[str, tuple[Callable[[dict[str, Any]], object], Rule]] = {
    "an API stage without throttling": (
        lambda r: r["HttpApiStage"]["Properties"]["DefaultRouteSettings"].pop("ThrottlingRateLimit"),
        api_problems,
    ),
    "a WebSocket stage without throttling": (
        lambda r: r["SocketsStage"]["Properties"].pop("DefaultRouteSettings"),
        api_problems,
    ),
    "a public route without throttling of its own": (
        lambda r: r["HttpApiStage"]["Properties"].pop("RouteSettings"),
        api_problems,
    ),
    "an HTTP API without access logs": (
        lambda r: r["HttpApiStage"]["Properties"].pop("AccessLogSettings"),
        api_problems,
    ),
    "access log lines without the caller": (
        lambda r: r["HttpApiStage"]["Properties"]["AccessLogSettings"].update(
            Format=json.dumps({k: v for k, v in ACCESS_LOG.items() if k != "sub"})
        ),
        api_problems,
    ),
    "access logs kept forever": (lambda r: r["HttpApiLogGroup"]["Properties"].pop("RetentionInDays"), api_problems),
    "an HTTP API without its 5xx alarm": (lambda r: r.pop("HttpApiServerErrorsAlarm"), api_problems),
    "a WebSocket API without its error alarm": (lambda r: r.pop("SocketsApiServerErrorsAlarm"), api_problems),
    "an authorizer that caches nothing": (
        lambda r: r["HttpApiAuthorizerUser"]["Properties"].update(AuthorizerResultTtlInSeconds=0),
        authorizer_problems,
    ),
    "an authorizer cached by another source": (
        lambda r: r["HttpApiAuthorizerUser"]["Properties"].update(IdentitySource=["$request.querystring.token"]),
        authorizer_problems,
    ),
    "a state machine without its failure alarm": (
        lambda r: r.pop("WorkflowFailuresAlarm"),
        state_machine_alarm_problems,
    ),
    "a failure alarm blind to timeouts": (
        lambda r: r["WorkflowFailuresAlarm"]["Properties"].update(
            Metrics=[m for m in r["WorkflowFailuresAlarm"]["Properties"]["Metrics"] if m["Id"] != "timedOut"]
        ),
        state_machine_alarm_problems,
    ),
    "no dashboard": (lambda r: r.pop("OperationsDashboard"), dashboard_problems),
    "a queue the dashboard does not plot": (
        lambda r: r.update(LaterQueue={"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "later"}}),
        dashboard_problems,
    ),
    "a table without point-in-time recovery": (
        lambda r: r["VideosTable"]["Properties"].pop("PointInTimeRecoverySpecification"),
        table_problems,
    ),
    "a table of users' data without a deletion policy": (
        lambda r: r["VideosTable"].pop("DeletionPolicy"),
        retention_problems,
    ),
    "a bucket replaced and deleted but retained on removal": (
        lambda r: r["MediaBucket"].update(UpdateReplacePolicy="Delete"),
        retention_problems,
    ),
}


@pytest.mark.parametrize("what", CHANGES)
def test_each_rule_catches_what_it_is_about(good: dict[str, Any], what: str):
    change, rule = CHANGES[what]
    assert list(broken(good, change)) == [rule.__name__]


def test_the_plugin_refuses_a_service_without_an_alarm_topic():
    document = service()
    del document["Resources"]["AlarmTopic"]
    done = render(document)
    assert done.returncode != 0 and "AlarmTopic" in done.stderr


def test_the_dashboard_plots_the_application_metrics_of_its_service(good: dict[str, Any]):
    body = json.loads(good["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    expressions = [m[0]["expression"] for w in body["widgets"] for m in [[x] for x in w["properties"]["metrics"]]
                   if isinstance(m[0], dict)]  # fmt: skip
    assert "SEARCH('{Video24,service} service=\"flow\"', 'Sum', 300)" in expressions
    assert any("TranscodeWallSecondsPerSourceMinute" in e for e in expressions)


SMALL_SERVICE = """\
service: video24-ops
provider:
  name: aws
  runtime: python3.12
  logRetentionInDays: 14
  httpApi:
    authorizers:
      user:
        type: request
        functionName: authorizer
        identitySource: $request.header.Authorization
        enableSimpleResponses: true
        payloadVersion: '2.0'
        resultTtlInSeconds: 300
  logs:
    httpApi:
      format: '{"requestId":"$context.requestId","sub":"$context.authorizer.sub","routeKey":"$context.routeKey",\
"status":"$context.status","latencyMs":"$context.responseLatency"}'
plugins:
  - video24-alarms
functions:
  authorizer:
    handler: ops/handlers.authorize
    timeout: 5
  api:
    handler: ops/handlers.api
    timeout: 10
    events:
      - httpApi:
          method: GET
          path: /things
          authorizer:
            name: user
  worker:
    handler: ops/handlers.work
    timeout: 40
    events:
      - sqs:
          arn: !GetAtt TasksQueue.Arn
          functionResponseType: ReportBatchItemFailures
resources:
  Resources:
    AlarmTopic:
      Type: AWS::SNS::Topic
    TasksDLQ:
      Type: AWS::SQS::Queue
      Properties:
        MessageRetentionPeriod: 1209600
    TasksQueue:
      Type: AWS::SQS::Queue
      Properties:
        VisibilityTimeout: 240
        RedrivePolicy:
          deadLetterTargetArn: !GetAtt TasksDLQ.Arn
          maxReceiveCount: 5
  extensions:
    HttpApiStage:
      Properties:
        DefaultRouteSettings:
          ThrottlingRateLimit: 10
          ThrottlingBurstLimit: 20
"""


def test_osls_packages_a_service_with_the_plugin_and_the_rules_and_cfn_lint_hold(tmp_path: Path):
    """The plugin's hook, as `make package` runs it: the framework's own functions list and events decide."""
    from tests.infra.test_rules import cfn_lint

    path = package_service(tmp_path, SMALL_SERVICE, "ops")
    document = json.loads(path.read_text())
    assert problems(document) == {}
    resources = document["Resources"]
    assert "Metrics" in resources["AuthorizerLambdaFunctionErrorsAlarm"]["Properties"]  # an authorizer: a rate
    assert "Metrics" in resources["ApiLambdaFunctionErrorsAlarm"]["Properties"]  # an API route: a rate
    assert resources["WorkerLambdaFunctionErrorsAlarm"]["Properties"]["Threshold"] == 0  # a queue's: any error
    assert resources["WorkerLambdaFunctionDurationAlarm"]["Properties"]["Threshold"] == 32000
    linted = cfn_lint(path)
    assert linted.returncode == 0, linted.stdout + linted.stderr
