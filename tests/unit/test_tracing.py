"""The transcode service's Tracer: on in Lambda, off where no X-Ray daemon listens (the local stack, tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.service("transcode")

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import aws_xray_sdk\n"
    "from transcode.handlers import tasks\n"
    "from transcode.observability import tracer\n"
    "print(bool(tracer.disabled), aws_xray_sdk.global_sdk_config.sdk_enabled())\n"
)


def tracing(**environment: str) -> str:
    """Whether the media tasks function's Tracer is off, and the X-Ray SDK on, in a fresh interpreter."""
    paths = [ROOT / "shared" / "src", ROOT / "services" / "transcode", ROOT]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_", "POWERTOOLS_", "AWS_"))}
    env = base | {"PYTHONPATH": os.pathsep.join(map(str, paths)), "AWS_DEFAULT_REGION": "us-east-1"} | environment
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def test_the_local_stack_and_tests_never_trace():
    # Given the function's environment as the local stack runs it (a function name, no Lambda task root)
    # Then the Tracer is off and the X-Ray SDK sends nothing
    assert tracing(AWS_LAMBDA_FUNCTION_NAME="transcode-mediaTasks") == "True False"


def test_in_lambda_it_traces_unless_turned_off():
    # Given the Lambda runtime's environment, with active tracing
    in_lambda = {"AWS_LAMBDA_FUNCTION_NAME": "transcode-mediaTasks", "LAMBDA_TASK_ROOT": "/var/task"}
    # Then the Tracer is on, and POWERTOOLS_TRACE_DISABLED turns it off
    assert tracing(**in_lambda) == "False True"
    assert tracing(**in_lambda, POWERTOOLS_TRACE_DISABLED="true") == "True False"
