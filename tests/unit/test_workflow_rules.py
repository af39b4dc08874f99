"""The state machine rules of tests/infra/workflow_rules.py find what they are about (and pass a good workflow).

Each test breaks one thing in a small hand-written template that keeps every rule, and expects exactly
that rule to complain: a rule that stopped looking fails here, not silently on the packaged templates.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.conftest import Template
from tests.infra.workflow_rules import (
    RULES,
    heartbeat_problems,
    logging_problems,
    role_problems,
    task_failure_problems,
    task_queue_problems,
)

pytestmark = pytest.mark.service("transcode", "tools")

Rule = Callable[[Template], list[str]]


def callback_task(**fields: Any) -> dict[str, Any]:
    """A task that sends its token to the tasks queue; `fields` add to it, or leave one out with None."""
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "${TasksQueueUrl}", "MessageBody": {"token.$": "$$.Task.Token"}},
        "HeartbeatSeconds": 60,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
        **fields,
    }
    return {k: v for k, v in task.items() if v is not None}


def good() -> dict[str, Any]:
    """A template with a workflow that keeps every rule: plan, then a Map of chunk tasks, then a publish."""
    return {
        "Resources": {
            "TasksDLQ": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}},
            "TasksQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["TasksDLQ", "Arn"]}, "maxReceiveCount": 5}
                },
            },
            "EventsTopic": {"Type": "AWS::SNS::Topic"},
            "WorkflowLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 14}},
            "WorkflowRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "states.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ]
                    },
                    "Policies": [
                        {
                            "PolicyName": "workflow",
                            "PolicyDocument": {
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": "sqs:SendMessage",
                                        "Resource": {"Fn::GetAtt": ["TasksQueue", "Arn"]},
                                    },
                                    {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": {"Ref": "EventsTopic"}},
                                    {
                                        "Effect": "Allow",
                                        "Action": ["logs:CreateLogDelivery", "logs:DescribeLogGroups"],
                                        "Resource": "*",
                                    },
                                ]
                            },
                        }
                    ],
                },
            },
            "Workflow": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": "flow-workflow",
                    "RoleArn": {"Fn::GetAtt": ["WorkflowRole", "Arn"]},
                    "LoggingConfiguration": {
                        "Level": "ERROR",
                        "Destinations": [
                            {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["WorkflowLogGroup", "Arn"]}}}
                        ],
                    },
                    "Definition": {
                        "StartAt": "Plan",
                        "States": {
                            "Plan": callback_task(Next="Chunks"),
                            "Chunks": {
                                "Type": "Map",
                                "MaxConcurrency": 2,
                                "ItemProcessor": {
                                    "ProcessorConfig": {"Mode": "INLINE"},
                                    "StartAt": "Chunk",
                                    "States": {
                                        "Chunk": callback_task(
                                            End=True, Catch=None, Retry=[{"ErrorEquals": ["States.ALL"]}]
                                        )
                                    },
                                },
                                "Next": "Tell",
                            },
                            "Tell": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::sns:publish",
                                "Parameters": {"TopicArn": "${EventsTopicArn}", "Message": "done"},
                                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
                                "End": True,
                            },
                            "Failed": {"Type": "Fail", "Error": "WorkflowFailed"},
                        },
                    },
                    "DefinitionSubstitutions": {
                        "TasksQueueUrl": {"Ref": "TasksQueue"},
                        "EventsTopicArn": {"Ref": "EventsTopic"},
                    },
                },
            },
        }
    }


def broken(change: Callable[[dict[str, Any]], None]) -> Template:
    document = copy.deepcopy(good())
    change(document["Resources"])
    return Template("flow", document)


def problems(template: Template) -> dict[str, list[str]]:
    """Which rules complain, and what they say."""
    return {rule.__name__: found for rule in RULES if (found := rule(template))}


def machine(resources: dict[str, Any]) -> dict[str, Any]:
    return resources["Workflow"]["Properties"]


def states(resources: dict[str, Any]) -> dict[str, Any]:
    return machine(resources)["Definition"]["States"]


def chunk(resources: dict[str, Any]) -> dict[str, Any]:
    return states(resources)["Chunks"]["ItemProcessor"]["States"]["Chunk"]


def role(resources: dict[str, Any]) -> dict[str, Any]:
    return resources["WorkflowRole"]["Properties"]


def statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return role(resources)["Policies"][0]["PolicyDocument"]["Statement"]


def test_a_good_workflow_keeps_every_rule():
    assert problems(Template("flow", good())) == {}


def test_no_state_machine_no_problem():
    assert problems(Template("flow", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})) == {}


def test_the_same_rules_read_a_definition_string_with_sub():
    def as_sub(resources: dict[str, Any]) -> None:
        properties = machine(resources)
        text = json.dumps(properties.pop("Definition")).replace("${TasksQueueUrl}", "${TasksQueue}")
        properties["DefinitionString"] = {"Fn::Sub": text}
        del properties["DefinitionSubstitutions"]

    assert problems(broken(as_sub)) == {}
    unreadable = broken(lambda r: machine(r).update(DefinitionString={"Fn::Join": ["", ["{"]]}))
    assert all("cannot be read" in p for p in task_failure_problems(unreadable))


@pytest.mark.parametrize(
    ("change", "rule", "says"),
    [
        (lambda r: machine(r).pop("LoggingConfiguration"), logging_problems, "no LoggingConfiguration"),
        (lambda r: machine(r)["LoggingConfiguration"].update(Level="OFF"), logging_problems, "Level OFF"),
        (lambda r: machine(r)["LoggingConfiguration"].update(Destinations=[]), logging_problems, "no destination"),
        (lambda r: r["WorkflowLogGroup"].pop("Properties"), logging_problems, "no RetentionInDays"),
        (
            lambda r: machine(r)["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"].update(
                LogGroupArn="arn:aws:logs:us-east-1:1:log-group:other:*"
            ),
            logging_problems,
            "not a log group of this template",
        ),
        (lambda r: machine(r).update(RoleArn="arn:aws:iam::1:role/any"), role_problems, "not a role of this template"),
        (
            lambda r: role(r)["AssumeRolePolicyDocument"]["Statement"][0].update(
                Principal={"Service": ["states.amazonaws.com", "lambda.amazonaws.com"]}
            ),
            role_problems,
            "assumable by",
        ),
        (lambda r: role(r).update(ManagedPolicyArns=["arn:aws:iam::aws:policy/Admin"]), role_problems, "managed"),
        (lambda r: statements(r)[0].update(Action="sqs:*"), role_problems, "wildcard actions"),
        (lambda r: statements(r)[1].update(Action=["sns:Pub*"]), role_problems, "wildcard actions"),
        (lambda r: statements(r)[0].update(Resource="*"), role_problems, "not of this stack"),
        (
            lambda r: statements(r)[1].update(Resource="arn:aws:sns:us-east-1:1:someone-elses"),
            role_problems,
            "not of this stack",
        ),
        (lambda r: statements(r)[2]["Action"].append("logs:PutLogEvents"), role_problems, "not of this stack"),
        (
            lambda r: r.update(
                Extra={
                    "Type": "AWS::IAM::Policy",
                    "Properties": {
                        "Roles": [{"Ref": "WorkflowRole"}],
                        "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]},
                    },
                }
            ),
            role_problems,
            "wildcard actions",
        ),
        (lambda r: r["TasksQueue"].pop("Properties"), task_queue_problems, "has no DLQ"),
        (
            lambda r: machine(r)["DefinitionSubstitutions"].update(
                TasksQueueUrl="https://sqs.us-east-1.amazonaws.com/1/elsewhere"
            ),
            task_queue_problems,
            "not a queue declared in this template",
        ),
        (
            lambda r: chunk(r).update(Parameters={"QueueUrl.$": "$.queue", "MessageBody": {}}),
            task_queue_problems,
            "not a queue declared in this template",
        ),
        (lambda r: chunk(r).pop("Retry"), task_failure_problems, "Workflow.Chunk: neither Retry nor Catch"),
        (lambda r: states(r)["Tell"].update(Retry=[]), task_failure_problems, "Workflow.Tell: neither Retry nor Catch"),
        (lambda r: states(r)["Plan"].pop("HeartbeatSeconds"), heartbeat_problems, "Workflow.Plan: waits for a task"),
        (lambda r: chunk(r).pop("HeartbeatSeconds"), heartbeat_problems, "Workflow.Chunk: waits for a task"),
    ],
)
def test_a_rule_finds_what_breaks_it(change: Callable[[dict[str, Any]], None], rule: Rule, says: str):
    found = problems(broken(change))

    assert list(found) == [rule.__name__], found
    assert any(says in problem for problem in found[rule.__name__]), found


def test_a_heartbeat_path_counts_as_a_heartbeat():
    def by_path(resources: dict[str, Any]) -> None:
        del chunk(resources)["HeartbeatSeconds"]
        chunk(resources)["HeartbeatSecondsPath"] = "$.heartbeat"

    assert heartbeat_problems(broken(by_path)) == []
