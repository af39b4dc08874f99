"""Handlers against moto's mock_aws, with the resources the services' serverless.yml declare."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

from infra import LOCAL_CREDENTIALS, Function, Invocable, Topology, load, queue_arn
from infra.event_source import sqs_event as lambda_sqs_event
from infra.provision import execute_state_machines, provision
from tests.wiring import forget_wiring

# The test stage's params, as compose would pass them: quick retries, small chunks for short clips.
TEST_PARAMS = {
    "retrySeconds": "0,0",
    "chunkSeconds": "6",
    "mailSender": "videos@24hour-video.test",
    "websiteUrl": "https://videos.example.test",
}


ANNOUNCEMENTS = ["VideoReady", "VideoDeleted"]  # catalog-events without the status changes


def tap_attributes(event_types: list[str] | None) -> dict[str, str]:
    """A tap's subscription: raw delivery, and only these event types if given."""
    attributes = {"RawMessageDelivery": "true"}
    if event_types:
        attributes["FilterPolicy"] = json.dumps({"event_type": event_types})
    return attributes


@dataclass
class Aws:
    topology: Topology
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _queue_urls: dict[str, str] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """A client of this stack's (moto's mock, or its server), made once: making one costs milliseconds."""
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name="us-east-1")
        return self._clients[service]

    def name(self, service: str, logical_id: str) -> str:
        return self.topology.physical(service, logical_id)

    def function(self, key: str) -> Function:
        return next(f for f in self.topology.functions if f.key == key)

    def queue_url(self, name: str) -> str:
        """A queue's URL, asked once: a stack's queues keep theirs."""
        if name not in self._queue_urls:
            self._queue_urls[name] = self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
        return self._queue_urls[name]

    def tap(self, topic_arn: str, *, event_types: list[str] | None = None) -> str:
        """A queue that receives every message published to a topic (raw delivery), or those of `event_types`."""
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=f"tap-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.client("sns").subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=tap_attributes(event_types)
        )
        return url

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        sqs, bodies = self.client("sqs"), []
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        listing = self.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(obj["Key"] for obj in listing.get("Contents", []))


@cache
def _test_topology() -> Topology:
    """The test stage's topology, read once a session (nothing changes it: provisioning reads it)."""
    return load("test", params=TEST_PARAMS)


@cache
def _session() -> boto3.session.Session:
    """One session for provisioning (moto's mock answers its clients' calls whenever they are made): each new
    session reads the endpoints' and the services' models again."""
    return boto3.session.Session(region_name="us-east-1")


@contextmanager
def moto_stack(*, server: bool = False) -> Iterator[Aws]:
    """The services' resources (as their serverless.yml declare them) in moto's mock_aws.

    `server`: on a moto server on loopback instead (every client of this process is pointed at it),
    which runs the transcode workflow's state machine and serves the signed URLs ffmpeg reads.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in LOCAL_CREDENTIALS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        topology = _test_topology()
        if not server:
            with mock_aws():
                provision(topology, _session(), endpoint=None)
                yield Aws(topology)
            return
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.setenv("MOTO_PORT", str(port))
        # the server shares this process's moto configuration: what it turns on is put back afterwards
        patch.setitem(default_user_config, "stepfunctions", dict(default_user_config["stepfunctions"]))
        try:
            urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
            execute_state_machines(endpoint)  # before provisioning: a config change drops moto's state machines
            provision(topology, _session(), endpoint)
            yield Aws(topology)
        finally:
            urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
            moto.stop()


@pytest.fixture(autouse=True)
def fresh_wiring() -> Iterator[None]:
    """Each test builds the services' collaborators anew, from the environment it set."""
    forget_wiring()
    yield
    forget_wiring()


@pytest.fixture
def aws() -> Iterator[Aws]:
    with moto_stack() as stack:
        yield stack


# The transcoder and the catalog as their queues drive them, on the module's `aws` (a module that needs one moto
# server for all its cases overrides `aws` with a module-scoped one). Imported here, not above: pipeline.py
# builds on this conftest.
@pytest.fixture
def transcode(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """The transcode service's functions, configured from their serverless.yml environments."""
    from tests.integration.pipeline import transcode_handler

    yield from transcode_handler(aws, monkeypatch, tmp_path / "work")


@pytest.fixture
def catalog(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    from tests.integration.pipeline import DownloadingProber, catalog_handlers

    yield from catalog_handlers(aws, monkeypatch, DownloadingProber(aws.client("s3"), tmp_path))


@pytest.fixture
def pipeline(aws: Aws, transcode: Any, catalog: Any) -> Any:
    """Uploads through both, as the queues would deliver them (tests.integration.pipeline.Pipeline)."""
    from tests.integration.pipeline import Pipeline

    return Pipeline(aws, transcode, catalog)


def use_function_env(monkeypatch: pytest.MonkeyPatch, *functions: Invocable, **overrides: str) -> None:
    """Set the environment the functions' serverless.yml declares (several: as if they shared a process), then
    drop what was built from the old one."""
    environment = {name: value for function in functions for name, value in function.environment.items()}
    for name, value in (environment | overrides).items():
        monkeypatch.setenv(name, value)
    forget_wiring()


def sqs_event(*bodies: str) -> dict[str, Any]:
    """The SQS event Lambda would hand a function for these bodies (each received once, from queue `q`)."""
    once = {"ApproximateReceiveCount": "1"}
    received = [
        {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": body, "MD5OfBody": "", "Attributes": dict(once)}
        for i, body in enumerate(bodies)
    ]
    return lambda_sqs_event(received, queue_arn("q"))


class Context:
    function_name = "test"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    _Recorder.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    server.shutdown()
