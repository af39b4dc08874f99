"""A declared Step Functions workflow runs on moto: provisioned by infra, its task tokens answered by a
queue-fed function behind Lambda's event source mapping (infra.event_source), the way the local stack runs it.

The workflow (tests/workflows.py) is a waitForTaskToken task (`Plan`), then a Map of the planned chunks over
waitForTaskToken tasks with MaxConcurrency 2. The function holds each token it is given and the test answers
the held ones with SendTaskSuccess once the queue is quiet, so at most MaxConcurrency tokens of the Map can be
held at once. Once on moto in this process (mock_aws), once on a moto server (as the local stack runs it).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

from infra import LOCAL_CREDENTIALS, REGION, Topology, load
from infra.event_source import EventSourceMapping
from infra.provision import execute_state_machines, provision
from tests.workflows import write_repo

pytestmark = pytest.mark.service("transcode")

CHUNKS = ["c0", "c1", "c2"]
MAX_CONCURRENCY = 2  # the Map's (tests/workflows.py: param chunkConcurrency)


@dataclass
class TaskWorker:
    """The workflow's queue-fed function: each message is a task token to answer; it holds them until asked."""

    topology: Topology
    endpoint: str | None
    held: list[dict[str, Any]] = field(default_factory=list)
    answered: int = 0
    most_held_of_the_map: int = 0

    def __post_init__(self) -> None:
        session = boto3.session.Session(region_name=REGION)
        self.sfn = session.client("stepfunctions", endpoint_url=self.endpoint)
        [function] = self.topology.functions
        self.mapping = EventSourceMapping(
            session.client("sqs", endpoint_url=self.endpoint), function, self.handler, retry_delay=0
        )

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            self.held.append(json.loads(record["body"]))
        encoding = [task for task in self.held if task["step"] == "encode"]
        self.most_held_of_the_map = max(self.most_held_of_the_map, len(encoding))
        return {"batchItemFailures": []}

    def answer(self, task: dict[str, Any]) -> None:
        if task["step"] == "plan":
            output = {"chunks": CHUNKS}
        else:
            output = {"index": task["input"]["index"], "piece": f"{task['input']['chunk']}.mp4"}
        self.sfn.send_task_success(taskToken=task["token"], output=json.dumps(output))

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]

    def waits_on_the_held(self, execution_arn: str) -> bool:
        """The execution's history says it can go no further without an answer: every task state it entered has
        sent its message, this worker received each one, and its Map runs as many iterations as it may at once."""
        events = [event["type"] for event in self.history(execution_arn)]
        entered, submitted = events.count("TaskStateEntered"), events.count("TaskSubmitted")
        if not (entered == submitted == self.answered + len(self.held)):
            return False
        if "MapStateStarted" not in events:
            return True  # the plan task
        [length] = [e["mapStateStartedEventDetails"]["length"] for e in self.history(execution_arn)
                    if e["type"] == "MapStateStarted"]  # fmt: skip
        finished = events.count("MapIterationSucceeded")
        running = events.count("MapIterationStarted") - finished
        return running >= min(MAX_CONCURRENCY, length - finished)

    def run_until_done(self, execution_arn: str, timeout: float = 60) -> dict[str, Any]:
        """Receive the tasks; whenever the history shows the execution waiting on every held one, answer them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = self.sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] != "RUNNING":
                return execution
            if self.mapping.poll(wait_seconds=0):
                continue
            if self.held and self.waits_on_the_held(execution_arn):
                held, self.held = self.held, []
                for task in held:
                    self.answer(task)
                self.answered += len(held)
            time.sleep(0.1)  # the next look at the queue and the history
        raise AssertionError(f"the execution was still running after {timeout}s; held: {self.held}")


def run_the_workflow(topology: Topology, endpoint: str | None) -> None:
    # Given the workflow provisioned, and its task queue's function running
    [machine] = topology.state_machines
    worker = TaskWorker(topology, endpoint)

    # When an execution starts (always with a name: moto names a nameless one "None")
    started = worker.sfn.start_execution(
        stateMachineArn=machine.arn, name="video-1-v1", input=json.dumps({"video_id": "video-1"})
    )
    execution = worker.run_until_done(started["executionArn"])

    # Then it succeeded, with the plan and every chunk's piece in order
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == {
        "video_id": "video-1",
        "plan": {"chunks": CHUNKS},
        "pieces": [{"index": i, "piece": f"{chunk}.mp4"} for i, chunk in enumerate(CHUNKS)],
    }
    # and the Map never had more than MaxConcurrency (2) of its 3 tasks waiting for an answer
    assert worker.most_held_of_the_map == MAX_CONCURRENCY
    # nor more than 2 iterations running at once by its own history: the third started after one had finished
    running, most = 0, 0
    for event in worker.history(started["executionArn"]):
        running += {"MapIterationStarted": 1, "MapIterationSucceeded": -1}.get(event["type"], 0)
        most = max(most, running)
    assert most == MAX_CONCURRENCY


@pytest.fixture
def topology(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Topology:
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # whatever the test turns on in moto's process-wide configuration and MOTO_PORT is put back after it
    monkeypatch.setitem(default_user_config, "stepfunctions", dict(default_user_config["stepfunctions"]))
    monkeypatch.setenv("MOTO_PORT", "5000")
    return load("test", root=write_repo(tmp_path))


def test_a_workflow_runs_on_moto_in_this_process(topology: Topology):
    with mock_aws():
        execute_state_machines(None)
        provision(topology, boto3.session.Session(region_name=REGION), endpoint=None)
        run_the_workflow(topology, endpoint=None)


@pytest.fixture
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield endpoint
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
        server.stop()


def test_a_workflow_runs_on_a_moto_server(topology: Topology, moto_server: str):
    execute_state_machines(moto_server)
    provision(topology, boto3.session.Session(region_name=REGION), endpoint=moto_server)
    run_the_workflow(topology, endpoint=moto_server)


def test_without_execution_turned_on_moto_only_records_the_execution(topology: Topology, monkeypatch):
    # (so a local stack or a test that forgets execute_state_machines sees nothing happen, not an error)
    from moto.core.config import default_user_config

    # off, whatever a test before this one in the process left (moto's configuration is the process's)
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": False})
    with mock_aws():
        provision(topology, boto3.session.Session(region_name=REGION), endpoint=None)
        worker = TaskWorker(topology, endpoint=None)
        [machine] = topology.state_machines
        started = worker.sfn.start_execution(stateMachineArn=machine.arn, name="video-1-v1", input="{}")
        # When a marker is sent to the task queue (where Plan would send its token) after the start returned
        # (moto's recorder does all it does within that call)
        worker.mapping.sqs.send_message(QueueUrl=worker.mapping.queue_url, MessageBody=json.dumps({"step": "marker"}))
        deadline = time.monotonic() + 10
        while not worker.held and time.monotonic() < deadline:
            worker.mapping.poll(wait_seconds=1)
        # Then the marker is the first and only message: no task was sent before it
        assert worker.held == [{"step": "marker"}]
        assert worker.mapping.poll(wait_seconds=0) is None
        # and the execution is recorded, running, with none of the workflow's states entered
        assert worker.sfn.describe_execution(executionArn=started["executionArn"])["status"] == "RUNNING"
        events = worker.history(started["executionArn"])
        assert not [e for e in events if e.get("stateEnteredEventDetails", {}).get("name") in ("Plan", "Encode")]
