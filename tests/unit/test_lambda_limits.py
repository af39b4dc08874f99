"""The largest allowed source fits what Lambda gives, with the settings in services/transcode/serverless.yml.

The arithmetic the README's "Limits" section shows, as a test: change a setting (longer chunks,
less memory, a longer maximum duration) so that a task could run out of time, disk or state
size, and this fails.

The encode speeds are measured, not written here: `make bench-limits` (bench/encode_speed.py) runs
the workflow's own chunk command (every rung of a 1080p30 chunk from one decode, x264 at the prod
stage's FFMPEG_PRESET and FFMPEG_THREADS) and audio command (each AAC coder the workflow uses) with the
bundled ffmpeg, and records the CPU seconds (getrusage) per second of source, with the ffmpeg build,
the machine and the date, in bench/measured/encode-speed.json. This test reads that file and fails
when the bundled ffmpeg or those settings are no longer the ones it was measured with, so the figures
cannot go stale silently: run `make bench-limits` again then. Camera footage costs more to encode
than a test pattern, and a 4K or 60 fps source more to decode: MARGIN covers that.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import re
import subprocess
from typing import Any

import pytest

import mediatools
from infra import load
from infra.serverless import ROOT, load_yaml
from transcode.logic.chunking import MAX_TIMESCALE, Grid, plan_chunks
from transcode.settings import TranscodeSettings

pytestmark = pytest.mark.service("transcode")

MEASURED = ROOT / "bench" / "measured" / "encode-speed.json"  # written by `make bench-limits`
MEASURED_RECORD: dict[str, Any] = json.loads(MEASURED.read_text())
SPEEDS = MEASURED_RECORD["cpu_seconds_per_source_second"]
LADDER_CPU_PER_SOURCE_SECOND: float = SPEEDS["ladder"]  # every 1080p rung of one chunk, decoded once
AAC_CPU_PER_SOURCE_SECOND: dict[str, float] = SPEEDS["audio"]  # stereo 128 kb/s, by coder (startup apart)
AAC_STARTUP_CPU_SECONDS: dict[str, float] = MEASURED_RECORD["audio_startup_cpu_seconds"]
SOURCE_READ_MB_PER_SECOND = 80  # a Lambda reading S3 in its region, ranged GETs over one connection
MARGIN = 3.0
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one vCPU per 1769 MB of memory
LAMBDA_TMP_BYTES = 10 * 1024**3
STATE_LIMIT_BYTES = 256 * 1024


@pytest.fixture(scope="module")
def tasks():
    topology = load("prod")
    [function] = [f for f in topology.functions if f.key == "transcode-mediaTasks"]
    raw = load_yaml(ROOT / "services" / "transcode" / "serverless.yml")["functions"]["mediaTasks"]
    return function, raw


def _release(version: str) -> str:
    """9.0.2 of `n9.0.2-17-g2a571b6068-20260930` (a build's number, whatever platform it was built for)."""
    found = re.match(r"n?(\d+(?:\.\d+)+)", version)
    assert found, f"no release number in ffmpeg version {version!r}"
    return found.group(1)


def test_the_encode_speeds_were_measured_with_the_bundled_ffmpeg_and_the_workflow_s_settings(tasks):
    function, _ = tasks
    version = subprocess.run([mediatools.ffmpeg(), "-version"], capture_output=True, text=True, check=True, timeout=60)
    bundled = version.stdout.split()[2]  # "ffmpeg version <this> Copyright ..."
    recorded = MEASURED_RECORD["ffmpeg"]
    again = f"{MEASURED.relative_to(ROOT)} is stale: run `make bench-limits` and commit it"
    assert _release(recorded["version"]) == _release(bundled), again
    assert recorded["wheel"] == f"imageio-ffmpeg {importlib.metadata.version('imageio-ffmpeg')}", again
    settings = TranscodeSettings({k: v for k, v in function.environment.items() if isinstance(v, str)})
    measured_with = MEASURED_RECORD["settings"]
    assert (measured_with["ffmpeg_threads"], measured_with["ffmpeg_preset"]) == (
        settings.ffmpeg_threads,
        settings.ffmpeg_preset,
    ), again
    assert LADDER_CPU_PER_SOURCE_SECOND > 0 and all(v > 0 for v in AAC_CPU_PER_SOURCE_SECOND.values())
    assert set(AAC_CPU_PER_SOURCE_SECOND) == {"twoloop"}  # the coder audio_command uses


def _max_duration(function) -> float:
    return float(function.environment["MAX_DURATION_SECONDS"])


def _vcpus(function) -> float:
    return function.memory / LAMBDA_MB_PER_VCPU


def test_a_chunk_encodes_well_inside_the_encode_timeout(tasks):
    function, _ = tasks
    chunk = int(function.environment["CHUNK_SECONDS"])
    encode_timeout = float(function.environment["ENCODE_TIMEOUT_SECONDS"])
    wall = chunk * LADDER_CPU_PER_SOURCE_SECOND * MARGIN / _vcpus(function)
    assert wall < encode_timeout < function.timeout, (chunk, wall, encode_timeout)


def test_the_audio_of_the_longest_source_is_encoded_in_one_task(tasks):
    function, _ = tasks
    longest = _max_duration(function)
    coder = "twoloop"
    per_second = AAC_CPU_PER_SOURCE_SECOND[coder] * min(MARGIN, 1.5) / min(1.0, _vcpus(function))
    encode = AAC_STARTUP_CPU_SECONDS[coder] + longest * per_second
    read = 5 * 1024 / SOURCE_READ_MB_PER_SECOND  # the whole 5 GiB source, once
    assert encode + read < float(function.environment["ENCODE_TIMEOUT_SECONDS"]), (encode, read)


def test_the_longest_source_fits_the_fragments_32_bit_clock(tasks):
    function, _ = tasks
    assert _max_duration(function) * MAX_TIMESCALE < 2**32


def test_the_plan_of_the_longest_source_fits_the_state_machines_payload_limit(tasks):
    function, _ = tasks
    grid = Grid(chunk_seconds=int(function.environment["CHUNK_SECONDS"]))
    chunks = plan_chunks(_max_duration(function), grid)
    # a chunk iteration's input carries the plan and its chunk: the plan lists every chunk
    plan_bytes = len(json.dumps([c.model_dump(mode="json") for c in chunks])) + 4096
    assert 2 * plan_bytes < STATE_LIMIT_BYTES, (len(chunks), plan_bytes)


def test_the_work_folder_holds_the_largest_download_being_built(tasks):
    function, raw = tasks
    download_max = int(function.environment.get("DOWNLOAD_MAX_BYTES", 2 * 1024**3))
    # the rung's chunks and the audio downloaded, the MP4 written beside them, and one chunk's encode
    needed = 2 * download_max + 500 * 1024**2
    assert int(raw["ephemeralStorageSize"]) * 1024**2 >= needed <= LAMBDA_TMP_BYTES


def test_the_workflow_outlives_the_longest_source_s_encode(tasks):
    function, _ = tasks
    transcode = load_yaml(ROOT / "services" / "transcode" / "serverless.yml")
    params = transcode["params"]["default"]
    chunks = math.ceil(_max_duration(function) / int(params["chunkSeconds"]))
    waves = math.ceil(chunks / int(params["chunkConcurrency"]))
    chunk_wall = int(params["chunkSeconds"]) * LADDER_CPU_PER_SOURCE_SECOND * MARGIN / _vcpus(function)
    # the definition as deployed (inline or from its own file, substitutions applied)
    [workflow] = [m for m in load("prod").state_machines if m.name.startswith("video24-transcode-")]
    assert waves * chunk_wall + 2 * function.timeout < json.loads(workflow.definition)["TimeoutSeconds"]
