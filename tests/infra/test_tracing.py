"""Traces: every function has X-Ray active tracing and a role that may send its traces; the workflow too."""

from __future__ import annotations

from tests.infra.conftest import SERVICES, Template, load, ref_target, statements

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
    # (the web stack has no function: nothing to trace there, and the test below checks functions were seen)
    for logical_id, function in template.of_type("AWS::Lambda::Function").items():
        properties = function["Properties"]
        assert properties.get("TracingConfig") == {"Mode": "Active"}, f"{template.service}: {logical_id}"
        role = ref_target(properties["Role"])
        # Lambda refuses active tracing with a role that cannot PutTraceSegments (the deploy would fail)
        assert role is not None and granted(role, template) >= FUNCTION_XRAY, f"{template.service}: {role}"


def test_the_rules_above_and_below_saw_what_they_check():
    templates = {service: load(service) for service in SERVICES}
    with_functions = {s for s, t in templates.items() if t.of_type("AWS::Lambda::Function")}
    with_machines = {s for s, t in templates.items() if t.of_type("AWS::StepFunctions::StateMachine")}
    assert with_functions == set(SERVICES) - {"web"} and with_machines == {"transcode"}


def test_every_state_machine_is_traced_and_its_role_may_send_the_traces(template: Template):
    for logical_id, machine in template.of_type("AWS::StepFunctions::StateMachine").items():
        properties = machine["Properties"]
        assert properties.get("TracingConfiguration") == {"Enabled": True}, f"{template.service}: {logical_id}"
        assert granted(ref_target(properties["RoleArn"]), template) >= FUNCTION_XRAY, f"{template.service}"
