"""Who may use what, on the packaged templates: an AWS service may invoke a function only on behalf of this
account's own resource (an API Gateway API of the stack, a topic, a bucket...), never for anyone's (checkov
CKV_AWS_364: without a SourceArn any account's API could invoke it); the mail function may send only as the
stage's sender."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.account import ACCOUNT_ID, REGION
from infra.cloudformation import Template as Stack
from infra.serverless import Variables, load_yaml
from tests.infra.conftest import ROOT, Template, load, named, statements

pytestmark = pytest.mark.service("auth", "upload", "transcode", "metadata", "notify", "web")

SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$")
API_TYPES = {"AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi"}


def text_of(expression: Any) -> str:
    """The literal text of an expression (what Sub and Join hold), to look for wildcards in."""
    if isinstance(expression, str):
        return expression
    if isinstance(expression, list):
        return "".join(text_of(v) for v in expression)
    if isinstance(expression, dict):
        return "".join(text_of(v) for v in expression.values())
    return ""


def invoke_permission_problems(template: Template) -> list[str]:
    problems = []
    own = set(template.resources)
    apis = {lid for lid, r in template.resources.items() if r["Type"] in API_TYPES}
    for logical_id, permission in template.of_type("AWS::Lambda::Permission").items():
        props = permission["Properties"]
        principal = props.get("Principal")
        if not isinstance(principal, str) or not SERVICE_PRINCIPAL.match(principal):
            continue  # an account or an organization: not a service acting for whoever asks it
        source = props.get("SourceArn")
        where = f"{template.service}: {logical_id} ({principal})"
        if source is None:
            problems.append(f"{where} has no SourceArn: any account's resource may invoke the function")
            continue
        names = named(source)
        if principal == "apigateway.amazonaws.com":
            if not names & apis or "AWS::AccountId" not in names:
                problems.append(f"{where}: SourceArn {source} names no API of this stack in this account")
        elif not names & own and not any(n.startswith("import:") for n in names):
            problems.append(f"{where}: SourceArn {source} names no resource of this stack or an import")
        if principal == "s3.amazonaws.com" and "AWS::AccountId" not in named(props.get("SourceAccount")):
            problems.append(f"{where}: a bucket ARN holds no account: SourceAccount must be this account")
    return problems


def test_a_service_may_invoke_a_function_only_for_this_accounts_own_resource(template: Template):
    assert invoke_permission_problems(template) == []


def test_the_websocket_routes_and_their_authorizer_may_be_invoked_by_this_stacks_websocket_api_only():
    # (the rule above, seen to apply: notify's four WebSocket permissions, the authorizer's included)
    template = load("notify")
    permissions = template.of_type("AWS::Lambda::Permission")
    assert {lid for lid in permissions if lid.endswith("PermissionWebsockets")} == {
        "ConnectLambdaPermissionWebsockets",
        "DisconnectLambdaPermissionWebsockets",
        "PingLambdaPermissionWebsockets",
        "UserLambdaPermissionWebsockets",
    }
    for logical_id, permission in permissions.items():
        assert "WebsocketsApi" in named(permission["Properties"].get("SourceArn")), logical_id


def test_the_rule_refuses_a_permission_without_a_source_or_for_another_api():
    # Given permissions as osls generates them for a WebSocket route, and one naming an API of another stack
    def stack(source: Any) -> Template:
        permission = {"FunctionName": "f", "Action": "lambda:InvokeFunction", "Principal": "apigateway.amazonaws.com"}
        permission |= {"SourceArn": source} if source else {}
        resources = {
            "WebsocketsApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}},
            "P": {"Type": "AWS::Lambda::Permission", "Properties": permission},
        }
        return Template("x", {"Resources": resources})

    ours = {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebsocketsApi}/*"}
    # Then only the one scoped to this stack's API in this account passes
    assert invoke_permission_problems(stack(ours)) == []
    assert len(invoke_permission_problems(stack(None))) == 1
    assert len(invoke_permission_problems(stack("arn:aws:execute-api:us-east-1:*:*/*"))) == 1
    assert len(invoke_permission_problems(stack({"Fn::Sub": "arn:aws:execute-api:${AWS::Region}:*:${Other}/*"}))) == 1


# --- SES: the mail function sends only as the stage's sender -------------------------------------------------


def mail_sender_resources(template: Template) -> list[Any]:
    document = template.props("MailSenderPolicy")["PolicyDocument"]
    [sending] = [s for s in statements(document) if "ses:SendEmail" in s["Action"]]
    resources = sending["Resource"]
    return resources if isinstance(resources, list) else [resources]


def test_the_mail_function_may_send_as_its_senders_identities_only():
    # In the packaged template: no wildcard among the identities it may send as
    resources = mail_sender_resources(load("notify"))
    assert resources and not [r for r in resources if "*" in text_of(r)], resources

    # And for a stage that names a sender, they are the address's identity and its domain's (SES authorizes a
    # sender verified through its domain against the domain identity), evaluated as CloudFormation would
    raw = load_yaml(ROOT / "services" / "notify" / "serverless.yml")
    params = raw["params"]["default"] | {"mailSender": "videos@example.com"}
    config = Variables(raw, "ci", REGION, params, ROOT / "services" / "notify").resolve(raw)
    declared = config["resources"]
    stack = Stack(config["service"], declared["Resources"], {}, conditions=declared["Conditions"])
    policy = declared["Resources"]["MailSenderPolicy"]
    assert stack.exists(policy)
    [sending] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "ses:SendEmail" in s["Action"]]
    identity = f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity"
    assert sorted(stack.evaluate(sending["Resource"])) == [f"{identity}/example.com", f"{identity}/videos@example.com"]
    assert sending["Condition"] == {"StringEquals": {"ses:FromAddress": "videos@example.com"}}
