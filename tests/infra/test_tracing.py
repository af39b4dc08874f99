"""Traces: every function has X-Ray active tracing and a role that may send its traces; the workflow too."""

from __future__ import annotations

import pytest

from tests.infra.conftest import Template, ref_target, statements

FUNCTION_XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def granted(role: str, template: Template) -> set[str]:
    actions: set[str] = set()
    for policy in template.props(role).get("Policies", []):
        for statement in statements(policy["PolicyDocument"]):
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if statement.get("Effect") == "Allow":
                actions |= set(listed)
    return actions


def test_every_function_is_traced_and_its_own_role_may_send_the_traces(template: Template):
    functions = template.of_type("AWS::Lambda::Function")
    if not functions:
        pytest.skip(f"{template.service} has no functions")
    for logical_id, function in functions.items():
        properties = function["Properties"]
        assert properties.get("TracingConfig") == {"Mode": "Active"}, f"{template.service}: {logical_id}"
        role = ref_target(properties["Role"])
        # Lambda refuses active tracing with a role that cannot PutTraceSegments (the deploy would fail)
        assert role is not None and granted(role, template) >= FUNCTION_XRAY, f"{template.service}: {role}"


def test_the_transcode_workflow_is_traced(template: Template):
    machines = template.of_type("AWS::StepFunctions::StateMachine")
    if template.service != "transcode":
        pytest.skip("only transcode has a workflow")
    for machine in machines.values():
        properties = machine["Properties"]
        assert properties.get("TracingConfiguration") == {"Enabled": True}
        assert granted(ref_target(properties["RoleArn"]), template) >= FUNCTION_XRAY
