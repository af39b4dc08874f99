"""Locks with hashes for every install: the development environment, each service's Lambda code, the ffmpeg layer.

    python -m tools.lock           # regenerate them all with uv (make lock; needs the package index)
    python -m tools.lock --check   # exit 1 if a lock no longer matches its requirements (offline)

What is edited by hand stays as it was: `requirements-dev.txt`, `services/*/requirements.txt` and
`tools/layer-requirements.txt` name the top-level packages, pinned. Each gets a `.lock` beside it with
every package it needs, pinned and hashed: `make venv` installs the development lock with
`--require-hashes` (for any host: a universal resolution from Python 3.11 up); `make package` installs
each service's lock and the layer's for Lambda's platform only (tools/lambda-platform.yml). A service's
lock leaves out its `noDeploy` packages (in the runtime, or in the layer) and what only they need, and
the project's `shared/` package, which `make package` builds into a wheel of its own.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from infra import load_yaml
from tools.lambda_platform import target

ROOT = Path(__file__).resolve().parents[1]
SHARED = "video24-shared"  # the name in shared/pyproject.toml


@dataclass(frozen=True)
class Lock:
    requirements: Path
    target_args: tuple[str, ...]  # uv's: for Lambda's platform, or universal
    excluded: frozenset[str] = frozenset()

    @property
    def path(self) -> Path:
        return self.requirements.with_suffix(".lock")


@dataclass
class Pin:
    name: str
    version: str
    hashes: int = 0
    via: set[str] = field(default_factory=set)


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def locks(root: Path = ROOT) -> list[Lock]:
    lambda_args = tuple(target().uv_args)
    found = [Lock(root / "requirements-dev.txt", ("--universal", "--python-version", "3.11"))]
    for requirements in sorted(root.glob("services/*/requirements.txt")):
        declared = load_yaml(requirements.with_name("serverless.yml")).get("custom", {}).get("pythonRequirements", {})
        found.append(Lock(requirements, lambda_args, frozenset(normal(n) for n in declared.get("noDeploy", []))))
    found.append(Lock(root / "tools" / "layer-requirements.txt", lambda_args))
    # checkov pins an old boto3 (1.35): it cannot share the development environment, so it has one of its own
    found.append(Lock(root / "tools" / "checkov-requirements.txt", ("--universal", "--python-version", "3.11")))
    return found


def compile_lock(lock: Lock) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as excludes:
        excludes.write("".join(f"{name}\n" for name in sorted(lock.excluded)))
        excludes.flush()
        subprocess.run(
            [sys.executable, "-m", "uv", "pip", "compile", lock.requirements.name, "-o", lock.path.name,
             *lock.target_args, "--generate-hashes", "--no-emit-package", SHARED, "--excludes", excludes.name,
             "--python", sys.executable, "--no-python-downloads", "--custom-compile-command", "make lock", "--quiet"],
            cwd=lock.requirements.parent, check=True,
        )  # fmt: skip


def top_level(requirements: Path) -> tuple[dict[str, str], bool]:
    """name -> pinned version of each requirement in the file, and whether it installs the project's shared/."""
    pins: dict[str, str] = {}
    shared = False
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-e", ".", "/")):
            shared = shared or Path(line.removeprefix("-e").strip()).name == "shared"
            continue
        name = re.split(r"[\[<>=!~ ;]", line, maxsplit=1)[0]
        pins[normal(name)] = line.partition("==")[2].split(";", 1)[0].strip()
    return pins, shared


def read_lock(path: Path) -> list[Pin]:
    pins: list[Pin] = []
    current: Pin | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip().rstrip("\\").strip()
        if raw and not raw[0].isspace() and not raw.startswith("#"):
            name, _, version = line.split(";", 1)[0].partition("==")
            current = Pin(normal(name.split("[", 1)[0]), version.strip())
            pins.append(current)
        elif raw.startswith("#"):
            current = None  # the header, or the list of what was left out
        elif current and line.startswith("--hash="):
            current.hashes += 1
        elif current and line.startswith("#"):
            source = line.lstrip("#").strip().removeprefix("via").strip()
            if source:
                current.via.add(source)
    return pins


def shared_dependencies(root: Path = ROOT) -> set[str]:
    project = tomllib.loads((root / "shared" / "pyproject.toml").read_text())["project"]
    return {normal(re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0]) for d in project["dependencies"]}


def stale(lock: Lock, root: Path = ROOT) -> list[str]:
    """Why `lock.path` no longer installs what `lock.requirements` asks for (empty: it does)."""
    if not lock.path.exists():
        return [f"{lock.path} is missing"]
    wanted, with_shared = top_level(lock.requirements)
    pins = read_lock(lock.path)
    locked = {pin.name: pin for pin in pins}
    asked_by = f"-r {lock.requirements.name}"
    found = []
    for name, version in wanted.items():
        if name in lock.excluded:
            continue
        pin = locked.get(name)
        if pin is None or asked_by not in pin.via:
            found.append(f"{name}=={version} ({lock.requirements.name}) is not in {lock.path.name}")
        elif pin.version != version:
            found.append(f"{name} is {version} in {lock.requirements.name} but {pin.version} in {lock.path.name}")
    from_shared = shared_dependencies(root) - lock.excluded if with_shared else set()
    for name in from_shared:
        if SHARED not in locked.get(name, Pin(name, "")).via:
            found.append(f"{name} (a dependency of shared/) is not in {lock.path.name}")
    for pin in pins:
        if asked_by in pin.via and pin.name not in wanted:
            found.append(f"{lock.path.name} has {pin.name} for {lock.requirements.name}, which no longer lists it")
        if SHARED in pin.via and pin.name not in from_shared:
            found.append(f"{lock.path.name} has {pin.name} for shared/, which no longer needs it")
        if pin.name in lock.excluded:
            found.append(f"{lock.path.name} has {pin.name}, which serverless.yml's noDeploy leaves out")
        if not pin.hashes:
            found.append(f"{lock.path.name}: {pin.name} has no hash")
    return found


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        problems = [f"{lock.path.relative_to(ROOT)}: {p}" for lock in locks() for p in stale(lock)]
        print("\n".join(problems) or "every lock matches its requirements")
        sys.exit(1 if problems else 0)
    for lock in locks():
        print(f"==> {lock.path.relative_to(ROOT)}")
        compile_lock(lock)
