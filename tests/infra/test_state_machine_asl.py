"""The transcode workflow's definition, as packaged, checked by a real Amazon States Language validator.

asl-validator (pinned in package.json, `npm ci`) checks the definition against the ASL schema, every transition
target, the JSONPath expressions and the Task resources' ARNs (both checks on: no --no-path-check, no
--no-arn-check). The template's intrinsics (DefinitionSubstitutions, Ref, Fn::GetAtt, ...) are replaced first
with what CloudFormation would put there, with a made-up account, by the local stack's reader of CloudFormation.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.cloudformation import Template as Stack
from infra.cloudformation import state_machine_definition
from tests.infra.conftest import ROOT, load

VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


def packaged_definition() -> dict[str, Any]:
    """The workflow's definition as CloudFormation would hand it to Step Functions: the packaged state machine's
    properties evaluated by the local stack's reader of CloudFormation (infra.cloudformation), its made-up account
    and names included."""
    template = load("transcode")
    functions = {lid: r["Properties"]["FunctionName"] for lid, r in template.of_type("AWS::Lambda::Function").items()}
    # (the framework's deployment bucket has no BucketName, which the reader needs: the definition names it not)
    resources = {lid: r for lid, r in template.resources.items() if lid != "ServerlessDeploymentBucket"}
    stack = Stack(template.service, resources, {}, functions=functions, conditions=template.document.get("Conditions"))
    ((logical_id, machine),) = template.of_type("AWS::StepFunctions::StateMachine").items()
    text = state_machine_definition(logical_id, stack.evaluate(machine["Properties"]))
    assert not re.search(r"\$\{[A-Za-z0-9_.:]+\}", text), "a substitution the template does not define"
    return json.loads(text)


def validate(definition: dict[str, Any], folder: Path) -> subprocess.CompletedProcess[str]:
    assert VALIDATOR.exists(), f"{VALIDATOR} is missing: `npm ci` installs it (make check-infra does)"
    path = folder / "workflow.asl.json"
    path.write_text(json.dumps(definition, indent=2))
    return subprocess.run([str(VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, check=False)


def test_the_packaged_workflow_is_valid_amazon_states_language(tmp_path: Path):
    # Given the transcode workflow as packaged, its intrinsics resolved
    definition = packaged_definition()
    # When asl-validator checks it (schema, transitions, JSONPath, ARNs)
    done = validate(definition, tmp_path)
    # Then it is valid
    assert done.returncode == 0, done.stdout + done.stderr


def _first_state_with(definition: dict[str, Any], field: str) -> dict[str, Any]:
    return next(state for state in definition["States"].values() if field in state)


@pytest.mark.parametrize(
    ("field", "broken", "error"),
    [
        ("Next", "NoSuchState", "MISSING_TRANSITION_TARGET"),  # a transition to a state that does not exist
        ("Resource", "send-to-queue", "Resource is invalid"),  # not an ARN: the ARN check
        ("ResultPath", "planned", "ResultPath is invalid"),  # not a JSONPath: the path check
    ],
)
def test_a_broken_workflow_is_refused(tmp_path: Path, field: str, broken: str, error: str):
    # Given the packaged workflow with one state broken
    definition = copy.deepcopy(packaged_definition())
    _first_state_with(definition, field)[field] = broken
    # When asl-validator checks it
    done = validate(definition, tmp_path)
    # Then it is refused, and says why
    assert done.returncode != 0
    assert error in done.stdout + done.stderr
