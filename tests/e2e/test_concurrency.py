"""`python -m devstack up --concurrency KEY=N`: N worker processes share one queue-fed function's queue."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra import ROOT
from tests.e2e.conftest import local_stack

pytestmark = pytest.mark.service("tools")

FUNCTION = "metadata-recordUpload"


def test_each_worker_of_a_function_runs_on_its_queue_with_its_own_log(tmp_path: Path):
    # Given the stack started with three workers for one function (and the default one for the others)
    with local_stack(tmp_path, concurrency={FUNCTION: 3}) as stack:
        logs = stack.ready["logs"]

        # Then each has its own log file, listed in the ready file, and each polls the function's queue
        workers = [f"{FUNCTION}", f"{FUNCTION}.2", f"{FUNCTION}.3"]
        assert [name for name in logs if name.startswith(FUNCTION)] == workers
        assert [Path(logs[name]).name for name in workers] == [f"{name}.log" for name in workers]
        queue = stack.name("metadata", "CatalogUploadsQueue")
        for name in workers:
            ready = json.loads(Path(logs[name]).read_text().splitlines()[0])
            assert ready == {"worker": FUNCTION, "queue": queue, "status": "ready"}
        assert stack.ready["concurrency"][FUNCTION] == 3
        assert set(stack.ready["concurrency"].values()) == {1, 3}
        assert stack.ready["state_machines"] == [{"name": m.name, "arn": m.arn} for m in stack.topology.state_machines]

        # and a burst of uploads is handled by more than one of them
        for n in range(12):
            stack.upload(Path(__file__), f"not-a-video-{n}.mp4")
        stack.idle()
        time.sleep(0.5)
        busy = [name for name in workers if '"batch"' in Path(logs[name]).read_text()]
        assert len(busy) >= 2, {name: stack.ready["logs"][name] for name in workers}


def test_concurrency_for_a_function_that_is_not_there_is_refused_before_anything_starts():
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "up", "--port", "0", "--api-port", "0", "--concurrency", "nope-x=2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "no queue-fed function nope-x" in done.stderr and FUNCTION in done.stderr
