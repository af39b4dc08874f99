"""The platform Lambda runs our code on, and a check that an artifact holds nothing compiled for another.

    python -m tools.lambda_platform services/*/.serverless/*.zip

A zip built on macOS or ARM with the host's wheels imports on the laptop and fails on Lambda
(`invalid ELF header`, `No module named 'pydantic_core._pydantic_core'`). `problems` opens a zip
and names every compiled file that is not for CPython 3.12 on manylinux x86_64: ELF headers
(64-bit, little-endian, machine x86-64), Mach-O and Windows binaries, extension module file names
(`*.cpython-312-x86_64-linux-gnu.so`, `*.abi3.so`) and the tags in a wheel's `*.dist-info/WHEEL`.
"""

from __future__ import annotations

import re
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SETTINGS = Path(__file__).with_name("lambda-platform.yml")

_ELF = b"\x7fELF"
_MACHO = {
    b"\xfe\xed\xfa\xce",
    b"\xce\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # a universal (fat) binary
    b"\xbe\xba\xfe\xca",
}
_ELF_MACHINES = {3: "x86", 40: "arm", 62: "x86-64", 183: "aarch64", 243: "riscv"}
_EM_X86_64 = 62
_BINARY_SUFFIXES = (".so", ".dylib", ".pyd", ".dll", ".exe")
# _pydantic_core.cpython-312-x86_64-linux-gnu.so, _rust.abi3.so, foo.cpython-312-darwin.so
_EXTENSION_TAG = re.compile(r"\.(?:cpython-(?P<version>\d+)(?:-(?P<platform>[^.]+))?|abi3)\.so$")
_MANYLINUX = re.compile(r"^manylinux(?:1|2010|2014|_(?P<major>\d+)_(?P<minor>\d+))_(?P<arch>.+)$")
_LEGACY_GLIBC = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


@dataclass(frozen=True)
class Target:
    """CPython `python` on `architecture` Linux with glibc `glibc` (Lambda's python3.12 runtime: 2.34)."""

    python: str
    glibc: str
    architecture: str
    pip_args: tuple[str, ...]

    @property
    def cpython(self) -> str:
        return "cp" + self.python.replace(".", "")

    @property
    def glibc_version(self) -> tuple[int, int]:
        major, minor = self.glibc.split(".")
        return int(major), int(minor)

    @property
    def pip_install_args(self) -> list[str]:
        """The same arguments serverless-python-requirements passes pip (each entry split once, as it does)."""
        return [part for entry in self.pip_args for part in entry.split(None, 1)]

    @property
    def uv_args(self) -> list[str]:
        """Resolve a lock for this platform (uv pip compile)."""
        major, minor = self.glibc_version
        platform = f"{self.architecture}-manylinux_{major}_{minor}"
        return ["--python-platform", platform, "--python-version", self.python]


@cache
def target() -> Target:
    settings: dict[str, Any] = yaml.safe_load(SETTINGS.read_text())
    return Target(
        python=str(settings["python"]),
        glibc=str(settings["glibc"]),
        architecture=str(settings["architecture"]),
        pip_args=tuple(settings["pipCmdExtraArgs"]),
    )


@dataclass
class Report:
    compiled: list[str] = field(default_factory=list)  # every compiled file seen
    problems: list[str] = field(default_factory=list)  # those not for the target, with the reason


def _elf_problem(head: bytes) -> str | None:
    if len(head) < 20:
        return "truncated ELF header"
    if head[4] != 2:
        return "32-bit ELF"
    if head[5] != 1:
        return "big-endian ELF"
    (machine,) = struct.unpack_from("<H", head, 18)
    if machine != _EM_X86_64:
        return f"ELF for {_ELF_MACHINES.get(machine, f'machine {machine}')}, not x86-64"
    return None


def _name_problem(name: str, want: Target) -> str | None:
    base = name.rsplit("/", 1)[-1]
    if base.endswith(_BINARY_SUFFIXES[1:]):
        return "a macOS or Windows binary"
    tag = _EXTENSION_TAG.search(base)
    if not tag:
        return None
    version, platform = tag.group("version"), tag.group("platform")
    if version is not None and f"cp{version}" != want.cpython:
        return f"an extension module for CPython {version[0]}.{version[1:]}, not {want.python}"
    if platform is not None and platform != f"{want.architecture}-linux-gnu":
        return f"an extension module for {platform}, not {want.architecture}-linux-gnu"
    return None


def _wheel_tag_problem(tag: str, want: Target) -> str | None:
    """A `Tag:` of a WHEEL file, e.g. cp312-cp312-manylinux_2_17_x86_64, cp39-abi3-manylinux_2_28_x86_64."""
    try:
        interpreter, abi, platform = tag.split("-")
    except ValueError:
        return f"wheel tag {tag!r} is not interpreter-abi-platform"
    if platform != "any":
        found = _MANYLINUX.match(platform)
        if not found:
            return f"wheel tag {tag}: platform {platform} is not manylinux"
        if found.group("arch") != want.architecture:
            return f"wheel tag {tag}: built for {found.group('arch')}, not {want.architecture}"
        legacy = platform.split("_", 1)[0]
        glibc = (int(found["major"]), int(found["minor"])) if found["major"] else _LEGACY_GLIBC[legacy]
        if glibc > want.glibc_version:
            return f"wheel tag {tag}: needs glibc {glibc[0]}.{glibc[1]}, Lambda has {want.glibc}"
    if interpreter.startswith("cp") and abi != "none":
        stable = abi == "abi3" and int(interpreter[2:]) <= int(want.cpython[2:])
        if not stable and (interpreter != want.cpython or abi != want.cpython):
            return f"wheel tag {tag}: for {interpreter}/{abi}, not {want.cpython}"
    elif not interpreter.startswith(("py3", "cp3")):
        return f"wheel tag {tag}: interpreter {interpreter} is not CPython 3"
    return None


def _binary_kind(name: str, head: bytes) -> str | None:
    """What binary a file is: elf, mach-o, pe, or named (a binary's name, none of those inside); None: no binary."""
    if head.startswith(_ELF):
        return "elf"
    if head[:4] in _MACHO and not name.endswith(".class"):
        return "mach-o"
    if name.endswith(_BINARY_SUFFIXES) or ".so." in name.rsplit("/", 1)[-1]:
        return "pe" if head.startswith(b"MZ") else "named"
    return None


def problems(path: Path, want: Target | None = None) -> Report:
    """Every compiled file in the zip at `path`, and each that Lambda's runtime (`want`) could not load."""
    want = want or target()
    report = Report()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir():
                continue
            if name.endswith(".dist-info/WHEEL"):
                # a wheel installs where any one of its tags is supported (py2.py3-none-any has two)
                lines = archive.read(info).decode("utf-8", "replace").splitlines()
                tag_problems = [_wheel_tag_problem(line[4:].strip(), want) for line in lines if line.startswith("Tag:")]
                if tag_problems and all(tag_problems):
                    report.problems.append(f"{name}: {'; '.join(p for p in tag_problems if p)}")
                continue
            with archive.open(info) as member:
                head = member.read(20)
            kind = _binary_kind(name, head)
            if kind is None:
                continue
            report.compiled.append(name)
            reason = (
                _name_problem(name, want)
                or {
                    "elf": _elf_problem(head),
                    "mach-o": "a Mach-O (macOS) binary",
                    "pe": "a Windows (PE) binary",
                    "named": "named like a binary but not an ELF file",
                }[kind]
            )
            if reason:
                report.problems.append(f"{name}: {reason}")
    return report


if __name__ == "__main__":
    failed = False
    for argument in sys.argv[1:]:
        report = problems(Path(argument))
        print(f"{argument}: {len(report.compiled)} compiled files, {len(report.problems)} not for Lambda")
        for problem in report.problems:
            print(f"  {problem}")
        failed = failed or bool(report.problems)
    sys.exit(1 if failed else 0)
