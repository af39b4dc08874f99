"""`python -m devstack up --concurrency KEY=N`: N worker processes share one queue-fed function's queue."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra import ROOT
from tests.e2e.conftest import SHARED_CONCURRENCY, Stack

pytestmark = pytest.mark.service("tools")

[FUNCTION] = SHARED_CONCURRENCY  # metadata-recordUpload, with 3 workers


def test_each_worker_of_a_function_runs_on_its_queue_with_its_own_log(stack: Stack):
    # Given the stack started with three workers for one function (SHARED_CONCURRENCY), one for the others
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
    uploaded = {stack.upload(Path(__file__), f"not-a-video-{n}.mp4", owner="sub-burst") for n in range(12)}

    def recorded_by() -> dict[str, set[str]] | None:
        """Which uploads each worker's log says it recorded ("upload recorded"), once every upload is in one."""
        found: dict[str, set[str]] = {name: set() for name in workers}
        for name in workers:
            *whole, _ = Path(logs[name]).read_text().split("\n")  # (the last line may be half written)
            for line in whole:
                if '"upload recorded"' in line and (said := json.loads(line)).get("message") == "upload recorded":
                    found[name].add(said["video_id"])
        return found if set().union(*found.values()) >= uploaded else None

    # (waited for until every upload's line is in a worker's log: none is still on its way there)
    handled = stack.wait_for("every upload recorded in a worker's log", recorded_by)
    busy = [name for name in workers if handled[name] & uploaded]
    assert len(busy) >= 2, {name: sorted(handled[name] & uploaded) for name in workers}


def test_concurrency_for_a_function_that_is_not_there_is_refused_before_anything_starts():
    done = subprocess.run(
        # (--no-site: a build would rewrite services/web/dist under the browser tests running beside this one)
        [
            sys.executable,
            "-m",
            "devstack",
            "up",
            "--port",
            "0",
            "--api-port",
            "0",
            "--no-site",
            "--concurrency",
            "nope-x=2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "no queue-fed function nope-x" in done.stderr and FUNCTION in done.stderr
