"""Every service's runtime requirement is pinned, and pinned the same, in the one test environment."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.service("upload", "transcode", "metadata", "auth", "notify", "shared")

ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith(("-", ".")):
            name, _, version = line.partition("==")
            pins[name.lower()] = version
    return pins


def test_service_requirements_are_pinned_like_the_dev_environment():
    dev = _pins(ROOT / "requirements-dev.txt")
    for requirements in sorted(ROOT.glob("services/*/requirements.txt")):
        for name, version in _pins(requirements).items():
            assert version, f"{requirements}: {name} is not pinned"
            assert dev.get(name) == version, (
                f"{requirements}: {name}=={version}, requirements-dev.txt has {dev.get(name)}"
            )


def _imported_distributions(package: Path) -> dict[str, set[str]]:
    """Distribution name -> the modules of `package` that import it (standard library and own packages left out)."""
    import ast
    import sys
    from importlib.metadata import packages_distributions

    own = {"contracts", "lambdakit", "mediatools"}
    distributions = packages_distributions()
    found: dict[str, set[str]] = {}
    for module in package.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".", 1)[0]
                if top in own or top in sys.stdlib_module_names or top == "__future__":
                    continue
                for distribution in distributions.get(top, [top]):
                    found.setdefault(_normal(distribution), set()).add(module.name)
    return found


def _normal(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _declared(requirements: list[str]) -> set[str]:
    import re

    return {_normal(re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0]) for requirement in requirements}


def test_the_shared_package_declares_every_package_its_modules_import():
    import tomllib

    project = tomllib.loads((ROOT / "shared" / "pyproject.toml").read_text())["project"]
    required = _declared(project["dependencies"])
    media = _declared(project["optional-dependencies"]["media"])
    src = ROOT / "shared" / "src"
    for package in ("contracts", "lambdakit"):
        missing = {d: m for d, m in _imported_distributions(src / package).items() if d not in required}
        assert not missing, f"shared/pyproject.toml does not declare what {package} imports: {missing}"
    missing = {d: m for d, m in _imported_distributions(src / "mediatools").items() if d not in required | media}
    assert not missing, f"neither the dependencies nor the media extra declare what mediatools imports: {missing}"
