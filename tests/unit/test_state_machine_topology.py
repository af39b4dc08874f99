"""A declared state machine is read the way CloudFormation would create it: its name, ARN and definition."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra import TopologyError, load, queue_url, state_machine_arn, topic_arn
from tests.workflows import SERVICE, write_repo

pytestmark = pytest.mark.service("transcode", "tools")

WORKFLOW = "video24-flow-dev-workflow"


def with_definition(replacement: str) -> str:
    """The service with its state machine's `Definition:` block replaced by these lines."""
    return re.sub(r"        Definition:\n.*?(?=        DefinitionSubstitutions:)", replacement, SERVICE, flags=re.S)


def test_the_state_machine_has_its_name_arn_type_and_substituted_definition(tmp_path: Path):
    # Given a service that declares a state machine with DefinitionSubstitutions
    root = write_repo(tmp_path)

    # When the topology is read for a stage
    topology = load("dev", root=root)

    # Then the machine is named for the stage, its ARN is Ref's, and ${Name} placeholders hold their values
    [machine] = topology.state_machines
    assert (machine.name, machine.arn, machine.type) == (WORKFLOW, state_machine_arn(WORKFLOW), "STANDARD")
    assert machine.arn == f"arn:aws:states:us-east-1:123456789012:stateMachine:{WORKFLOW}"
    definition = json.loads(machine.definition)
    plan = definition["States"]["Plan"]
    assert plan["Parameters"]["QueueUrl"] == queue_url("video24-flow-dev-tasks")
    assert plan["Parameters"]["QueueUrl"] == "https://sqs.us-east-1.amazonaws.com/123456789012/video24-flow-dev-tasks"
    assert plan["Parameters"]["MessageBody"] == {"step": "plan", "token.$": "$$.Task.Token", "input.$": "$"}
    encode = definition["States"]["Encode"]
    assert encode["MaxConcurrency"] == 2  # the param, resolved when packaging
    assert encode["ItemProcessor"]["States"]["EncodeChunk"]["Parameters"]["QueueUrl"] == plan["Parameters"]["QueueUrl"]
    assert "${" not in machine.definition
    assert topology.physical("flow", "FlowWorkflow") == machine.arn
    assert topology.state_machine(WORKFLOW) is machine
    # the role, its log group and the queue's name stay what they were (not emulated / keyed by name)
    assert topology.physical("flow", "FlowTasksQueue") == "video24-flow-dev-tasks"
    assert "FlowWorkflowRole" not in topology.services["flow"].resources


def test_functions_get_the_state_machines_arn_and_name(tmp_path: Path):
    topology = load("dev", root=write_repo(tmp_path))

    worker, starter = topology.invocables["flow-worker"], topology.invocables["flow-starter"]

    assert worker.environment == {"WORKFLOW_ARN": state_machine_arn(WORKFLOW), "WORKFLOW_NAME": WORKFLOW}
    assert starter.environment == {"WORKFLOW_ARN": state_machine_arn(WORKFLOW)}
    [consumer] = topology.functions
    assert consumer.key == "flow-worker" and consumer.queue_arn.endswith(":video24-flow-dev-tasks")


def test_a_param_given_for_the_stage_reaches_the_definition(tmp_path: Path):
    topology = load("dev", root=write_repo(tmp_path), params={"chunkConcurrency": "5"})

    encode = json.loads(topology.state_machines[0].definition)["States"]["Encode"]

    # (a param passed as text stays text, as the framework would put it in the template)
    assert encode["MaxConcurrency"] == "5"


def test_a_definition_string_gets_its_substitutions_too(tmp_path: Path):
    # Given a DefinitionString (JSON text) instead of a Definition object, and a topic substitution
    text = json.dumps(
        {
            "StartAt": "Tell",
            "States": {
                "Tell": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sns:publish",
                    "Parameters": {"TopicArn": "${EventsTopicArn}", "Message": "done"},
                    "End": True,
                }
            },
        }
    )
    topology = load("dev", root=write_repo(tmp_path, with_definition(f"        DefinitionString: '{text}'\n")))

    definition = json.loads(topology.state_machines[0].definition)

    assert definition["States"]["Tell"]["Parameters"]["TopicArn"] == topic_arn("video24-flow-dev-events")


def test_a_state_machine_without_a_definition_is_refused(tmp_path: Path):
    with pytest.raises(TopologyError, match="FlowWorkflow: needs a Definition"):
        load("dev", root=write_repo(tmp_path, with_definition("")))


def test_a_state_machine_needs_an_explicit_name(tmp_path: Path):
    service = SERVICE.replace("        StateMachineName: ${self:service}-${sls:stage}-workflow\n", "")
    with pytest.raises(TopologyError, match="FlowWorkflow needs an explicit StateMachineName"):
        load("dev", root=write_repo(tmp_path, service))


def test_a_definition_in_its_own_file_is_read_with_its_variables(tmp_path: Path):
    # Given the same definition in a file of the service's folder, which names a param, read by ${file(...)}
    written = load("dev", root=write_repo(tmp_path)).state_machines[0].definition
    root = write_repo(tmp_path / "own-file", with_definition("        Definition: ${file(./flow.asl.yml)}\n"))
    block = re.search(r"        Definition:\n(.*?)(?=        DefinitionSubstitutions:)", SERVICE, flags=re.S)
    assert block is not None
    lines = [line[10:] for line in block.group(1).splitlines()]  # (10: the block's indent in serverless.yml)
    (root / "services" / "flow" / "flow.asl.yml").write_text("\n".join(lines) + "\n")

    # When the topology is read
    [machine] = load("dev", root=root).state_machines

    # Then it is the definition written inline: its param resolved, its substitutions made
    assert json.loads(machine.definition) == json.loads(written)


def test_a_file_variable_names_a_part_of_the_file_and_a_missing_one_is_refused(tmp_path: Path):
    from_file = "    chunkConcurrency: ${file(./sizes.yml):map.concurrency}\n"
    service = SERVICE.replace("    chunkConcurrency: 2\n", from_file)
    root = write_repo(tmp_path, service)
    (root / "services" / "flow" / "sizes.yml").write_text("map:\n  concurrency: 7\n")

    encode = json.loads(load("dev", root=root).state_machines[0].definition)["States"]["Encode"]

    assert encode["MaxConcurrency"] == 7
    (root / "services" / "flow" / "sizes.yml").write_text("map: {}\n")
    with pytest.raises(TopologyError, match=r"\$\{file\(./sizes.yml\):map.concurrency\} is not in ./sizes.yml"):
        load("dev", root=root)
