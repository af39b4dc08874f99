"""Which services a push must deploy, in the order compose deploys them: `python -m tools.changed_services BASE HEAD`.

BASE is what was there before the push (GitHub's `github.event.before`, or the last deployed commit), so a push of
several commits deploys every service any of them touched. A service is deployed when a file under its folder
changed; every Python service when what they all ship changed (shared/, the root package.json and its lock);
every service when BASE is unknown (a new branch, a force push, a shallow clone without it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra import ROOT
from infra.serverless import compose_order

SHARED = ("shared/", "package.json", "package-lock.json")  # packed into every Python service's artifact
NO_BASE = {"", "0" * 40}  # GitHub's `before` for a branch's first push


def changed_files(base: str, head: str, root: Path = ROOT) -> list[str] | None:
    """Files changed between the commits; None when BASE is not a commit of this clone."""
    if base in NO_BASE:
        return None
    known = subprocess.run(["git", "cat-file", "-e", f"{base}^{{commit}}"], cwd=root, capture_output=True, check=False)
    if known.returncode != 0:
        return None
    diff = subprocess.run(
        ["git", "diff", "--name-only", base, head], cwd=root, capture_output=True, text=True, check=True
    )
    return diff.stdout.split()


def to_deploy(changed: list[str] | None, services: list[tuple[str, str]]) -> list[str]:
    """The services (name, folder relative to the root) to deploy, in the given (compose) order."""
    if changed is None:
        return [name for name, _ in services]
    everything_python = any(path.startswith(SHARED) for path in changed)
    chosen = []
    for name, folder in services:
        touched = any(path.startswith(f"{folder.rstrip('/')}/") for path in changed)
        python = (ROOT / folder / "requirements.txt").exists()
        if touched or (everything_python and python):
            chosen.append(name)
    return chosen


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m tools.changed_services BASE HEAD", file=sys.stderr)
        return 2
    services = [(name, str(path.relative_to(ROOT))) for name, path in compose_order()]
    base, head = args
    changed = changed_files(base, head)
    if changed is None:
        print(f"changed_services: {args[0] or '(none)'} is not a known commit: every service", file=sys.stderr)
    print(" ".join(to_deploy(changed, services)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
