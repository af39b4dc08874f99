"""The transcode workflow's definition, as packaged, checked by a real Amazon States Language validator.

asl-validator (pinned in package.json, `npm ci`) checks the definition against the ASL schema, every transition
target, the JSONPath expressions and the Task resources' ARNs (both checks on: no --no-path-check, no
--no-arn-check). The template's intrinsics (DefinitionSubstitutions, Ref, Fn::GetAtt, ...) are replaced first
with what CloudFormation would put there, with a made-up account.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import ROOT, Template, load

VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
REGION, ACCOUNT = "us-east-1", "123456789012"
PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
# what Ref and Fn::GetAtt <id>.Arn give for each kind of resource the definition may name
REFS = {
    "AWS::SQS::Queue": "https://sqs.{region}.amazonaws.com/{account}/{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::Lambda::Function": "{name}",
    "AWS::DynamoDB::Table": "{name}",
    "AWS::S3::Bucket": "{name}",
}
ARNS = {
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
}


def resolved(value: Any, template: Template) -> Any:
    """The value with every CloudFormation intrinsic replaced by a plausible result."""
    if isinstance(value, list):
        return [resolved(item, template) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and (key := next(iter(value))) in ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::If"):
        argument = value[key]
        if key == "Ref":
            return _ref(argument, template)
        if key == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            assert attribute == "Arn", f"no plausible value for {logical_id}.{attribute}"
            return _plausible(ARNS, logical_id, template)
        if key == "Fn::Sub":
            text, names = (argument, {}) if isinstance(argument, str) else argument
            given = {name: resolved(v, template) for name, v in names.items()}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: given.get(m[1]) or _named(m[1], template), text)
        if key == "Fn::Join":
            return argument[0].join(resolved(argument[1], template))
        return resolved(argument[1], template)  # Fn::If: the branch a stage with the condition takes
    assert not any(k.startswith("Fn::") for k in value), f"no plausible value for {value}"
    return {k: resolved(v, template) for k, v in value.items()}


def _ref(name: str, template: Template) -> str:
    if name in PSEUDO:
        return PSEUDO[name]
    if name in template.document.get("Parameters", {}):
        return str(template.document["Parameters"][name].get("Default", name))
    return _plausible(REFS, name, template)


def _named(name: str, template: Template) -> str:
    """A ${Name} or ${Name.Attribute} of an Fn::Sub."""
    return _ref(name, template) if "." not in name else resolved({"Fn::GetAtt": name}, template)


def _plausible(kinds: dict[str, str], logical_id: str, template: Template) -> str:
    assert logical_id in template.resources, f"no plausible value for {logical_id}"
    kind = template.resources[logical_id]["Type"]
    assert kind in kinds, f"no plausible value for {logical_id} ({kind})"
    return kinds[kind].format(region=REGION, account=ACCOUNT, name=logical_id)


def packaged_definition() -> dict[str, Any]:
    """The workflow's definition as CloudFormation would hand it to Step Functions."""
    template = load("transcode")
    (machine,) = template.of_type("AWS::StepFunctions::StateMachine").values()
    properties = machine["Properties"]
    if "Definition" in properties:
        text = json.dumps(resolved(properties["Definition"], template))
    else:
        text = resolved(properties["DefinitionString"], template)
    for name, value in properties.get("DefinitionSubstitutions", {}).items():
        text = text.replace("${" + name + "}", str(resolved(value, template)))
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
