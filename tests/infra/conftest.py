"""The CloudFormation that `make package` generated for every service (run it first: `make test-infra` does)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("auth", "upload", "transcode", "metadata", "notify", "web")


class Template:
    def __init__(self, service: str, document: dict[str, Any]) -> None:
        self.service, self.document = service, document
        self.resources: dict[str, dict[str, Any]] = document["Resources"]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties", {})


def load(service: str) -> Template:
    path = ROOT / "services" / service / ".serverless" / "cloudformation-template-update-stack.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make package` first (make test-infra does)")
    return Template(service, json.loads(path.read_text()))


@pytest.fixture(scope="session", params=SERVICES)
def template(request: pytest.FixtureRequest) -> Template:
    return load(request.param)


def ref_target(value: Any) -> str | None:
    """The logical id a Ref / GetAtt points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


SUB_NAME = re.compile(r"\$\{([A-Za-z0-9:._]+)\}")


def named(expression: Any) -> set[str]:
    """Every logical id or pseudo parameter an intrinsic expression names (Ref, GetAtt, Sub's ${X}), and each
    import as `import:<name>`."""
    found: set[str] = set()
    pending = [expression]
    while pending:
        value = pending.pop()
        if isinstance(value, list):
            pending += value
        elif isinstance(value, dict):
            for fn, arg in value.items():
                if fn == "Ref":
                    found.add(str(arg))
                elif fn == "Fn::GetAtt":
                    found.add(str(arg[0] if isinstance(arg, list) else arg.split(".")[0]))
                elif fn == "Fn::ImportValue":
                    found.add(f"import:{arg}" if isinstance(arg, str) else "import:?")
                elif fn == "Fn::Sub":
                    text, variables = (arg, {}) if isinstance(arg, str) else arg
                    found |= {name.split(".")[0] for name in SUB_NAME.findall(text) if name not in variables}
                    pending.append(variables)
                else:
                    pending.append(arg)
    return found


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy document's statements, each that can be in effect: both branches of an Fn::If (a statement that
    only some stages have), without AWS::NoValue."""
    found: list[dict[str, Any]] = []
    pending = list(document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]])
    while pending:
        statement = pending.pop(0)
        if set(statement) == {"Fn::If"}:
            pending += [branch for branch in statement["Fn::If"][1:] if branch != {"Ref": "AWS::NoValue"}]
        else:
            found.append(statement)
    return found


def package_service(folder: Path, serverless_yml: str, package: str) -> Path:
    """A small service (its serverless.yml, an empty `package/handlers.py`) packaged by osls as `make package`
    packages one, offline; the compiled template's path."""
    (folder / "serverless.yml").write_text(serverless_yml)
    (folder / package).mkdir()
    (folder / package / "handlers.py").write_text("")  # something to zip
    if not (folder / "node_modules").exists():
        (folder / "node_modules").symlink_to(ROOT / "node_modules")  # where the framework finds the repo's plugins
    done = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "sls"), "package", "--stage", "ci"],
        cwd=folder,
        env=os.environ | {"HOME": str(folder)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / ".serverless" / "cloudformation-template-update-stack.json"
