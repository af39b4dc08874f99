"""The GitHub workflow (.github/workflows/ci.yml): tests on every push, deploy on main, then the smoke tests
against the deployed stage, whose failure fails the job."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from infra import ROOT

pytestmark = pytest.mark.service("tools")

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    # (YAML 1.1 reads the key `on` as True)
    return {("on" if key is True else key): value for key, value in loaded.items()}


def targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9/._-]*):", (ROOT / "Makefile").read_text(), re.M))


def runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_every_make_target_the_workflow_runs_exists(workflow: dict[str, Any]):
    named = {target for job in workflow["jobs"].values() for run in runs(job)
             for command in re.findall(r"\bmake ([^;&|\n#]+)", run)
             for target in command.split() if "=" not in target}  # fmt: skip
    assert named and named <= targets(), named - targets()


def test_the_tests_run_on_every_push_and_pull_request(workflow: dict[str, Any]):
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert [run for run in runs(workflow["jobs"]["test"])] == ["make test", "make lint", "make test-infra"]


def test_the_deploy_job_smoke_tests_the_stage_it_deployed_and_fails_when_the_smoke_tests_fail(
    workflow: dict[str, Any],
):
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test" and "refs/heads/main" in deploy["if"]
    steps = deploy["steps"]
    deploying = next(i for i, step in enumerate(steps) if "serverless deploy" in step.get("run", ""))
    smoke = next(i for i, step in enumerate(steps) if "make smoke" in step.get("run", ""))
    assert smoke > deploying, "the smoke tests run after the deploy"
    step = steps[smoke]
    assert not step.get("continue-on-error") and not deploy.get("continue-on-error")
    assert "if" not in step, "the smoke tests run after every deploy"
    # against the stage just deployed, as the configured test user (secrets, never literals in the file)
    assert step["run"] == 'make smoke STAGE="$STAGE"'
    assert step["env"]["STAGE"] == steps[deploying]["env"]["STAGE"]
    assert step["env"]["SMOKE_USERNAME"] == "${{ secrets.SMOKE_USERNAME }}"
    assert step["env"]["SMOKE_PASSWORD"] == "${{ secrets.SMOKE_PASSWORD }}"
    assert all("${{" in value for name, value in step["env"].items() if name.startswith("SMOKE_"))
