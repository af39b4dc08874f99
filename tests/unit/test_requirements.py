"""Every service's runtime requirement is pinned, and pinned the same, in the one test environment."""

from __future__ import annotations

from pathlib import Path

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
