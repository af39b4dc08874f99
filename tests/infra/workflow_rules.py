"""The rules every AWS::StepFunctions::StateMachine of a template keeps (tests/infra/test_rules.py applies them).

Each rule takes a template and returns its problems (empty: the rule holds), so tests/unit can show each
one failing on a small hand-written template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.infra.conftest import Template, ref_target

STATE_MACHINE = "AWS::StepFunctions::StateMachine"
STEP_FUNCTIONS = {"Service": "states.amazonaws.com"}
# CloudWatch Logs' log delivery actions that Step Functions logging needs; they have no resource-level
# permissions, so their statement names "*" (AWS's own policy for Step Functions logging does).
LOG_DELIVERY_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
# What Step Functions needs to send X-Ray traces (TracingConfiguration); X-Ray has no resource-level permissions.
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}
_PLACEHOLDER = re.compile(r"^\$\{([A-Za-z0-9_.:]+)\}$")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- Reading a state machine ----------------------------------------------------------


def definition(properties: dict[str, Any]) -> dict[str, Any] | None:
    """The ASL as an object (placeholders left as they are), or None if it cannot be read from the template."""
    if isinstance(properties.get("Definition"), dict):
        return properties["Definition"]
    text = properties.get("DefinitionString")
    if isinstance(text, dict) and "Fn::Sub" in text:
        text = _listed(text["Fn::Sub"])[0]
    try:
        found = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


def states(asl: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, nested ones too (a Map's ItemProcessor or Iterator, a Parallel's Branches)."""
    for name, state in (asl.get("States") or {}).items():
        yield name, state
        for nested in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])):
            if isinstance(nested, dict):
                yield from states(nested)


def tasks(asl: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((name, state) for name, state in states(asl) if state.get("Type") == "Task")


def machines(template: Template) -> Iterator[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """(logical id, properties, definition) of each state machine."""
    for logical_id in template.of_type(STATE_MACHINE):
        properties = template.props(logical_id)
        yield logical_id, properties, definition(properties)


def unreadable(template: Template) -> list[str]:
    return [f"{lid}: its definition cannot be read" for lid, _, asl in machines(template) if asl is None]


def placeholder_target(value: Any, properties: dict[str, Any]) -> str | None:
    """The logical id a task parameter names: `${Name}` of DefinitionSubstitutions, or `${LogicalId}` of a Sub."""
    match = _PLACEHOLDER.match(value) if isinstance(value, str) else None
    if not match:
        return None
    name = match.group(1)
    substitutions = properties.get("DefinitionSubstitutions") or {}
    if name in substitutions:
        return ref_target(substitutions[name])
    return name.split(".", 1)[0]


# --- The rules ----------------------------------------------------------------------


def logging_problems(template: Template) -> list[str]:
    """Logs go to a log group of this template that has a retention."""
    problems = []
    for logical_id, properties, _ in machines(template):
        logging = properties.get("LoggingConfiguration") or {}
        if logging.get("Level", "OFF") == "OFF":
            problems.append(f"{logical_id}: no LoggingConfiguration (or Level OFF)")
            continue
        groups = [
            ref_target((d.get("CloudWatchLogsLogGroup") or {}).get("LogGroupArn"))
            for d in logging.get("Destinations") or []
        ]
        if not groups:
            problems.append(f"{logical_id}: logging has no destination")
        for group in groups:
            resource = template.resources.get(group or "", {})
            if resource.get("Type") != "AWS::Logs::LogGroup":
                problems.append(f"{logical_id}: logs to {group}, not a log group of this template")
            elif not resource.get("Properties", {}).get("RetentionInDays"):
                problems.append(f"{logical_id}: its log group {group} keeps logs forever (no RetentionInDays)")
    return problems


def _own(value: Any, template: Template) -> bool:
    """A resource of this stack: Ref / GetAtt of one, or a Sub / Join built on one."""
    if isinstance(value, dict) and ("Ref" in value or "Fn::GetAtt" in value):
        return ref_target(value) in template.resources
    if isinstance(value, dict) and "Fn::Sub" in value:
        names = re.findall(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}", _listed(value["Fn::Sub"])[0])
        return any(name in template.resources for name in names)
    if isinstance(value, dict) and "Fn::Join" in value:
        return any(_own(part, template) for part in value["Fn::Join"][1])
    return False


def _role_statements(role: str, template: Template) -> list[dict[str, Any]]:
    """The statements of the role's inline policies and of the AWS::IAM::Policy resources attached to it."""
    documents = [p["PolicyDocument"] for p in template.props(role).get("Policies", [])]
    documents += [
        p["Properties"]["PolicyDocument"]
        for p in template.of_type("AWS::IAM::Policy").values()
        if role in {ref_target(r) for r in p["Properties"].get("Roles", [])}
    ]
    return [s for document in documents for s in _listed(document["Statement"])]


def role_problems(template: Template) -> list[str]:
    """Its role: assumable by Step Functions only, no wildcard actions, only this stack's resources."""
    problems = []
    for logical_id, properties, _ in machines(template):
        role = ref_target(properties.get("RoleArn"))
        if template.resources.get(role or "", {}).get("Type") != "AWS::IAM::Role":
            problems.append(f"{logical_id}: its RoleArn is not a role of this template")
            continue
        assert role is not None
        trust = _listed(template.props(role).get("AssumeRolePolicyDocument", {}).get("Statement", []))
        for statement in trust:
            if statement.get("Effect") == "Allow" and statement.get("Principal") != STEP_FUNCTIONS:
                problems.append(f"{role}: assumable by {json.dumps(statement.get('Principal'))}")
        if not trust:
            problems.append(f"{role}: no trust policy")
        if template.props(role).get("ManagedPolicyArns"):
            problems.append(f"{role}: managed policies (their actions and resources cannot be checked here)")
        for statement in _role_statements(role, template):
            actions = _listed(statement.get("Action", []))
            if statement.get("NotAction") or statement.get("NotResource"):
                problems.append(f"{role}: NotAction / NotResource")
            if wildcards := [a for a in actions if "*" in a]:
                problems.append(f"{role}: wildcard actions {wildcards}")
            if statement.get("Effect") != "Allow":
                continue
            for resource in _listed(statement.get("Resource", [])):
                if resource == "*" and (set(actions) <= LOG_DELIVERY_ACTIONS or set(actions) <= XRAY_ACTIONS):
                    continue
                if not _own(resource, template):
                    problems.append(f"{role}: {actions} on {json.dumps(resource)[:120]}, not of this stack")
    return problems


def task_queue_problems(template: Template) -> list[str]:
    """Each queue an sqs:sendMessage task sends to (its tokens too) is this template's, and has a DLQ."""
    problems = unreadable(template)
    for logical_id, properties, asl in machines(template):
        for name, task in tasks(asl or {}):
            if not str(task.get("Resource", "")).startswith("arn:aws:states:::sqs:sendMessage"):
                continue
            parameters = task.get("Parameters") or {}
            queue = placeholder_target(parameters.get("QueueUrl"), properties)
            resource = template.resources.get(queue or "", {})
            if resource.get("Type") != "AWS::SQS::Queue":
                where = parameters.get("QueueUrl", parameters.get("QueueUrl.$"))
                problems.append(f"{logical_id}.{name}: sends to {where}, not a queue declared in this template")
            elif "deadLetterTargetArn" not in (resource.get("Properties", {}).get("RedrivePolicy") or {}):
                problems.append(f"{logical_id}.{name}: its queue {queue} has no DLQ")
    return problems


def task_failure_problems(template: Template) -> list[str]:
    """Each Task has a Retry or a Catch: without, one transient error fails the whole execution."""
    problems = unreadable(template)
    for logical_id, _, asl in machines(template):
        for name, task in tasks(asl or {}):
            if not task.get("Retry") and not task.get("Catch"):
                problems.append(f"{logical_id}.{name}: neither Retry nor Catch")
    return problems


def heartbeat_problems(template: Template) -> list[str]:
    """Each .waitForTaskToken task has a heartbeat: a worker that died is noticed, not waited for a year."""
    problems = unreadable(template)
    for logical_id, _, asl in machines(template):
        for name, task in tasks(asl or {}):
            waits = str(task.get("Resource", "")).endswith(".waitForTaskToken")
            if waits and "HeartbeatSeconds" not in task and "HeartbeatSecondsPath" not in task:
                problems.append(f"{logical_id}.{name}: waits for a task token without HeartbeatSeconds")
    return problems


RULES = (logging_problems, role_problems, task_queue_problems, task_failure_problems, heartbeat_problems)
