"""Each function's `environment:` in serverless.yml names only what that function reads.

Every function's collaborators are built by its own builder in its service's deps.py (named after the
function), from exactly the environment its serverless.yml declares; the service's settings record what
was read. A variable declared but never read (like the uploads bucket handed to the deletion consumer
that never used it) fails here, and so does a builder that needs a variable its function is not given.
"""

from __future__ import annotations

import re

import pytest

from infra import Invocable, load
from lambdakit.settings import Settings
from tests.wiring import forget, wiring_of

pytestmark = pytest.mark.service("upload", "transcode", "metadata", "auth", "notify")

# Read by Powertools itself, not by the services' settings.
PLATFORM = {"POWERTOOLS_SERVICE_NAME", "LOG_LEVEL"}
TOPOLOGY = load("test")
FUNCTIONS = sorted(TOPOLOGY.invocables.values(), key=lambda f: f.key)


def _builder_name(function_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", function_name).lower()


def _every_setting() -> set[str]:
    names: set[str] = set()
    for function in FUNCTIONS:
        settings_module, _ = wiring_of(function.package)
        for value in vars(settings_module).values():
            if isinstance(value, type) and issubclass(value, Settings) and value is not Settings:
                names |= {setting.name for setting in value.declared().values()}
    return names


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.key)
def test_a_function_is_given_exactly_what_it_reads(function: Invocable, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given exactly the environment the function's serverless.yml declares (and nothing of any other function's)
    settings_module, deps_module = wiring_of(function.package)
    for name in _every_setting():
        monkeypatch.delenv(name, raising=False)
    for name, value in function.environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    forget(settings_module, deps_module)

    # When its builder makes its collaborators (it exists, and succeeds: nothing it needs is missing)
    builder = getattr(deps_module, _builder_name(function.name), None)
    assert builder is not None, f"{deps_module.__name__} has no builder for {function.name}"
    try:
        builder()
        read = settings_module.settings().read
    finally:
        forget(settings_module, deps_module)

    # Then every variable it is given is one its code reads
    declared = set(function.environment) - PLATFORM
    assert declared <= read, f"{function.key} is given {sorted(declared - read)} but never reads them"
