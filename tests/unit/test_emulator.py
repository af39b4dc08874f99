"""infra/emulator.py: a workflow written for AWS, as moto runs it alike (each Task's Retry as a chain of tries)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import TopologyError
from infra.emulator import for_moto, keep_task_failure_causes

pytestmark = pytest.mark.service("transcode", "tools")

RETRYABLE = ["Transcode.Retryable", "TaskError"]


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", **fields}


def workflow(encode: dict[str, Any]) -> str:
    """Start -> Encode (the task under test) -> Done, with a Failed state its Catch may go to."""
    return json.dumps(
        {
            "StartAt": "Start",
            "States": {
                "Start": {"Type": "Pass", "Next": "Encode"},
                "Encode": encode,
                "Done": {"Type": "Succeed"},
                "Failed": {"Type": "Fail", "Error": "Failed"},
            },
        }
    )


def states(definition: str) -> dict[str, Any]:
    return json.loads(definition)["States"]


def test_a_retry_becomes_one_try_more_than_its_attempts_each_a_state_of_its_own():
    # Given a task retried twice on its retryable errors, waiting 5 s then 30 s, caught otherwise
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}]
    retry = [{"ErrorEquals": RETRYABLE, "IntervalSeconds": 5, "BackoffRate": 6, "MaxAttempts": 2}]
    encode = task(Retry=retry, Catch=catch, ResultPath="$.result", Next="Done")

    # When it is made for moto, with the Retry's own waits
    found = states(for_moto(workflow(encode)))

    # Then the first try keeps its name (Start still goes to it); a retryable error goes on, input kept, through a
    # wait to the next try, before the task's own Catch; the last try is the task as written, without its Retry
    assert found["Start"]["Next"] == "Encode"
    plain = {k: v for k, v in encode.items() if k != "Retry"}
    again = {"ErrorEquals": RETRYABLE, "ResultPath": None}
    assert found["Encode"] == plain | {"Catch": [again | {"Next": "Encode (wait 1)"}, *catch]}
    assert found["Encode (wait 1)"] == {"Type": "Wait", "Seconds": 5, "Next": "Encode (try 2)"}
    assert found["Encode (try 2)"] == plain | {"Catch": [again | {"Next": "Encode (wait 2)"}, *catch]}
    assert found["Encode (wait 2)"] == {"Type": "Wait", "Seconds": 30, "Next": "Encode (try 3)"}
    assert found["Encode (try 3)"] == plain
    assert all("Retry" not in state for state in found.values())


def test_the_stage_s_waits_replace_the_retry_s_and_no_wait_is_no_wait_state():
    encode = task(Retry=[{"ErrorEquals": RETRYABLE, "IntervalSeconds": 5, "MaxAttempts": 3}], End=True)

    quick = states(for_moto(workflow(encode), retry_seconds=(0, 0)))
    slower = states(for_moto(workflow(encode), retry_seconds=(2,)))

    assert set(quick) - {"Start", "Done", "Failed"} == {"Encode", "Encode (try 2)", "Encode (try 3)", "Encode (try 4)"}
    assert [quick[f"Encode (try {n})"]["Catch"][0]["Next"] for n in (2, 3)] == ["Encode (try 3)", "Encode (try 4)"]
    # (the stage's last wait repeats for the retries it does not name)
    assert [slower[f"Encode (wait {n})"]["Seconds"] for n in (1, 2, 3)] == [2, 2, 2]


def test_the_retry_s_backoff_is_capped_by_its_max_delay():
    retrier = {"ErrorEquals": RETRYABLE, "IntervalSeconds": 3, "BackoffRate": 2.5, "MaxAttempts": 3}
    found = states(for_moto(workflow(task(Retry=[retrier | {"MaxDelaySeconds": 10}], End=True))))

    assert [found[f"Encode (wait {n})"]["Seconds"] for n in (1, 2, 3)] == [3, 8, 10]  # 3, 7.5 (whole seconds), 18.75


def test_tasks_in_a_map_and_a_parallel_are_made_alike_and_the_rest_is_left_as_it_is():
    retry = [{"ErrorEquals": RETRYABLE, "MaxAttempts": 1}]
    chunk = task(Retry=retry, End=True)
    definition = {
        "StartAt": "Encode",
        "States": {
            "Encode": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Chunks",
                        "States": {
                            "Chunks": {
                                "Type": "Map",
                                "ItemProcessor": {"StartAt": "Chunk", "States": {"Chunk": chunk}},
                                "End": True,
                            }
                        },
                    },
                    {"StartAt": "Audio", "States": {"Audio": task(Retry=retry, End=True)}},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
                "Next": "Done",
            },
            "Plan": task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Done"}], Next="Done"),
            "Done": {"Type": "Succeed"},
        },
    }

    made = json.loads(for_moto(json.dumps(definition), retry_seconds=(0,)))

    branches = made["States"]["Encode"]["Branches"]
    assert set(branches[0]["States"]["Chunks"]["ItemProcessor"]["States"]) == {"Chunk", "Chunk (try 2)"}
    assert set(branches[1]["States"]) == {"Audio", "Audio (try 2)"}
    assert made["States"]["Plan"] == definition["States"]["Plan"]  # no Retry: nothing to do
    assert made["States"]["Encode"]["Catch"] == definition["States"]["Encode"]["Catch"]


def test_a_retrier_of_every_error_leaves_the_task_s_catch_to_its_last_try():
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]
    encode = task(Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}], Catch=catch, Next="Done")

    found = states(for_moto(workflow(encode), retry_seconds=(0,)))

    assert found["Encode"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Encode (try 2)"}]
    assert found["Encode (try 2)"]["Catch"] == catch


def test_no_attempts_is_the_task_without_its_retry():
    encode = task(Retry=[{"ErrorEquals": RETRYABLE, "MaxAttempts": 0}], Next="Done")
    assert states(for_moto(workflow(encode)))["Encode"] == task(Next="Done")


def test_what_cannot_be_emulated_is_refused_by_name():
    two = [{"ErrorEquals": ["TaskError"]}, {"ErrorEquals": ["States.Timeout"]}]
    with pytest.raises(TopologyError, match="Encode: the local stack emulates one retrier per Task"):
        for_moto(workflow(task(Retry=two, End=True)))
    named_alike = json.loads(workflow(task(Retry=[{"ErrorEquals": RETRYABLE}], End=True)))
    named_alike["States"]["Encode (try 2)"] = {"Type": "Succeed"}
    with pytest.raises(TopologyError, match="named like states it has"):
        for_moto(json.dumps(named_alike))


def test_the_transcode_workflow_retries_its_chunks_and_audio_at_once_on_the_test_stage():
    from infra import load

    # Given the transcode workflow as written for AWS (Retry: 5 s, then 30 s) and the test stage's waits
    [machine] = load("test", params={"retrySeconds": "0,0"}).state_machines
    written = json.loads(machine.definition)
    encode = written["States"]["Encode"]["Branches"]
    chunk = encode[0]["States"]["Chunks"]["ItemProcessor"]["States"]["EncodeChunk"]
    assert chunk["Retry"] == [
        {
            "ErrorEquals": ["Transcode.Retryable", "TaskError", "States.Timeout", "States.HeartbeatTimeout"],
            "IntervalSeconds": 5,
            "BackoffRate": 6,
            "MaxAttempts": 2,
        }
    ]
    assert encode[1]["States"]["EncodeAudio"]["Retry"] == chunk["Retry"]
    # (the stage param's default is the waits the Retry says: 5 s, then 5 x 6)
    [default] = load("test").state_machines
    assert default.local_retry_seconds == (5, 30)
    assert machine.local_retry_seconds == (0, 0)

    # When it is made for moto
    made = json.loads(for_moto(machine.definition, machine.local_retry_seconds))

    # Then each is tried 3 times, one after the other, with no wait
    chunks = made["States"]["Encode"]["Branches"][0]["States"]["Chunks"]["ItemProcessor"]["States"]
    audio = made["States"]["Encode"]["Branches"][1]["States"]
    assert set(chunks) == {"EncodeChunk", "EncodeChunk (try 2)", "EncodeChunk (try 3)", "ChunkGivesUp", "ChunkFailed"}
    assert set(audio) == {"EncodeAudio", "EncodeAudio (try 2)", "EncodeAudio (try 3)"}
    assert chunks["EncodeChunk (try 3)"]["Catch"] == chunk["Catch"]


def test_moto_keeps_the_cause_of_a_task_s_failure():
    from moto.stepfunctions.responses import StepFunctionResponse

    # Given this process's moto, made to keep causes (twice: the second time changes nothing)
    keep_task_failure_causes()
    keep_task_failure_causes()
    handler = StepFunctionResponse.send_task_failure

    class Backend:
        def send_task_failure(self, task_token: str, error: str | None = None, cause: str | None = None) -> None:
            self.said = (task_token, error, cause)

    class Recording:  # moto's recording backend (when it does not execute) takes no cause
        def send_task_failure(self, task_token: str, error: str | None = None) -> None:
            self.said = (task_token, error)

    class Response(StepFunctionResponse):
        def __init__(self, backend: Any) -> None:
            self.backend = backend

        @property
        def stepfunction_backend(self) -> Any:
            return self.backend

        def _get_param(self, param_name: str, if_none: Any = None) -> Any:
            return {"taskToken": "t", "error": "TaskError", "cause": "boom"}.get(param_name, if_none)

    # When a worker's SendTaskFailure reaches it
    for backend, said in [(Backend(), ("t", "TaskError", "boom")), (Recording(), ("t", "TaskError"))]:
        handler(Response(backend))
        # Then the interpreter gets the cause too
        assert backend.said == said


def test_moto_shows_each_dynamodb_write_whole_once_made_atomic(monkeypatch: pytest.MonkeyPatch):
    """Gap 4: a reader beside a many-action UpdateItem never sees it half applied."""
    import threading

    import boto3
    from moto import mock_aws

    from infra import LOCAL_CREDENTIALS
    from infra.emulator import atomic_dynamodb_items

    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    atomic_dynamodb_items()
    names = [f"a{n}" for n in range(30)]
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])  # fmt: skip
        client.put_item(TableName="t", Item={"k": {"S": "x"}} | {n: {"N": "0"} for n in names})
        done, seen = threading.Event(), []

        def write() -> None:
            for value in range(1, 60):
                expression = "SET " + ", ".join(f"{n} = :v" for n in names)
                client.update_item(TableName="t", Key={"k": {"S": "x"}}, UpdateExpression=expression,
                                   ExpressionAttributeValues={":v": {"N": str(value)}})  # fmt: skip
            done.set()

        writer = threading.Thread(target=write)
        writer.start()
        while not done.is_set():
            item = client.get_item(TableName="t", Key={"k": {"S": "x"}})["Item"]
            seen.append({item[n]["N"] for n in names})
        writer.join()
    assert seen and all(len(values) == 1 for values in seen)
