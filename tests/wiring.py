"""The services' cached wiring (each service's settings() and its deps.py builders), dropped on demand.

Builders are cached per Lambda container; a test that changes the environment, or moto's
state, drops them so the next call builds anew from what the test set.
"""

from __future__ import annotations

import importlib
from types import ModuleType

SERVICE_PACKAGES = ("intake", "transcode", "catalog", "identity", "push")


def wiring_of(package: str) -> tuple[ModuleType, ModuleType]:
    """A service package's settings and deps modules."""
    return importlib.import_module(f"{package}.settings"), importlib.import_module(f"{package}.deps")


def forget(*modules: ModuleType) -> None:
    """Clear every cached function a module defines itself."""
    for module in modules:
        for value in vars(module).values():
            if getattr(value, "__module__", "") == module.__name__ and callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def forget_wiring() -> None:
    """Drop every service's cached settings and collaborators."""
    for package in SERVICE_PACKAGES:
        forget(*wiring_of(package))
