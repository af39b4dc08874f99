"""A service's settings: environment variables, each read, parsed and checked when first used.

One `Settings` subclass per service declares every variable the service knows, once:

    class UploadSettings(Settings):
        uploads_bucket = Setting("UPLOADS_BUCKET")
        max_upload_bytes = Setting("MAX_UPLOAD_BYTES", int, default=5 * 1024**3, check=positive)

A function reads only the settings it uses, so its `environment:` in serverless.yml
names only those (tests/unit/test_function_environment.py builds every function's
collaborators from exactly its declared environment and compares what was read).
A missing or malformed value is a `SettingsError` naming the variable. Standard
library only: the authorizer reads its settings here and stays light at cold start.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class SettingsError(Exception):
    """A setting is missing or cannot be used; the message names the variable."""


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Missing()


def positive(value: float) -> None:
    if value <= 0:
        raise ValueError("must be more than 0")


def not_negative(value: float) -> None:
    if value < 0:
        raise ValueError("must not be negative")


def flag(text: str) -> bool:
    """'true'/'false' (and 1/0, yes/no), as CloudFormation and shells write them."""
    lowered = text.strip().lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError("must be true or false")
    return lowered in ("true", "1", "yes")


class Setting(Generic[T]):
    """One environment variable of a `Settings` class."""

    @overload
    def __init__(
        self: Setting[str], name: str, *, default: str = ..., check: Callable[[str], None] | None = None
    ) -> None: ...

    @overload
    def __init__(
        self, name: str, parse: Callable[[str], T], *, default: T = ..., check: Callable[[T], None] | None = None
    ) -> None: ...

    def __init__(
        self,
        name: str,
        parse: Callable[[str], Any] = str,
        *,
        default: Any = REQUIRED,
        check: Callable[[Any], None] | None = None,
    ) -> None:
        self.name, self.parse, self.default, self.check = name, parse, default, check

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...

    @overload
    def __get__(self, instance: Settings, owner: type) -> T: ...

    def __get__(self, instance: Settings | None, owner: type) -> Setting[T] | T:
        if instance is None:
            return self
        return instance._value(self)

    def read(self, environ: Mapping[str, str]) -> T:
        raw = environ.get(self.name)
        if not raw:  # unset, or set to '' (how serverless.yml spells "none" for an optional stage param)
            if self.required:
                raise SettingsError(f"{self.name} is {'empty' if raw == '' else 'not set'}")
            value = self.default
        else:
            try:
                value = self.parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{self.name}={raw[:100]!r}: {exc}") from None
        if self.check is not None:
            try:
                self.check(value)
            except ValueError as exc:
                raise SettingsError(f"{self.name}={value!r}: {exc}") from None
        return value  # type: ignore[no-any-return]


class Settings:
    """The settings of one service; a value is read from the environment when first used, then kept."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._values: dict[str, Any] = {}

    def _value(self, setting: Setting[T]) -> T:
        if setting.name not in self._values:
            self._values[setting.name] = setting.read(self._environ)
        return self._values[setting.name]  # type: ignore[no-any-return]

    @property
    def read(self) -> frozenset[str]:
        """The variables read so far (what the functions built with these settings depend on)."""
        return frozenset(self._values)

    @classmethod
    def declared(cls) -> dict[str, Setting[Any]]:
        """Every variable this service knows: attribute name -> setting."""
        found: dict[str, Setting[Any]] = {}
        for klass in reversed(cls.__mro__):
            found |= {name: value for name, value in vars(klass).items() if isinstance(value, Setting)}
        return found
