"""The deploy on main takes every service the push touched, measured from the push's previous head (not HEAD~1),
in compose order."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra import ROOT
from infra.serverless import compose_order
from tools.changed_services import changed_files, to_deploy

pytestmark = pytest.mark.service("tools")

SERVICES = [(name, str(path.relative_to(ROOT))) for name, path in compose_order()]


def test_each_touched_service_in_compose_order_and_shared_means_every_python_service():
    assert to_deploy(["services/notify/push/logic/mail.py", "services/auth/serverless.yml", "README.md"],
                     SERVICES) == ["auth", "notify"]  # fmt: skip
    assert to_deploy(["shared/src/contracts/events.py"], SERVICES) == ["auth", "upload", "transcode", "metadata",
                                                                        "notify"]  # fmt: skip
    assert to_deploy(["services/web/src/app.ts"], SERVICES) == ["web"]
    assert to_deploy(["docs/screens/library.png", "services/webby/x"], SERVICES) == []
    assert to_deploy(None, SERVICES) == [name for name, _ in SERVICES]  # an unknown base: everything


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def test_a_push_of_several_commits_is_diffed_from_the_previous_head(tmp_path: Path):
    # Given a repository pushed at `before`, then two commits pushed at once: one to upload, one to metadata
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    for path in ("services/upload/a.py", "services/metadata/b.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "README.md").write_text("x")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "first")
    before = git(tmp_path, "rev-parse", "HEAD")
    for path in ("services/upload/a.py", "services/metadata/b.py"):
        (tmp_path / path).write_text("change")
        git(tmp_path, "add", "-A")
        git(tmp_path, "commit", "-qm", path)
    # When the changed files are taken from the previous head
    changed = changed_files(before, "HEAD", root=tmp_path)
    # Then both commits count (HEAD~1 alone would have missed the upload change)
    assert changed is not None and to_deploy(changed, SERVICES) == ["upload", "metadata"]
    assert to_deploy(changed_files(git(tmp_path, "rev-parse", "HEAD~1"), "HEAD", root=tmp_path), SERVICES) == [
        "metadata"
    ]
    # And a base this clone does not have, or a first push, deploys everything
    assert changed_files("1" * 40, "HEAD", root=tmp_path) is None
    assert changed_files("0" * 40, "HEAD", root=tmp_path) is None
