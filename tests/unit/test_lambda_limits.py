"""The largest allowed source fits what Lambda gives, with the settings in services/transcode/serverless.yml.

The arithmetic the README's "Limits" section shows, as a test: change a setting (longer chunks,
less memory, a longer maximum duration) so that a task could run out of time, disk or state
size, and this fails.

Encode speeds were measured on 2026-12-01 on this project's 2-core x86_64 build machine with the
bundled ffmpeg 6.0 (`veryfast`, a 1080p30 test pattern with a tone; CPU seconds of the ffmpeg
process per second of source, via getrusage, in the chunk and audio commands the workflow runs:
`make bench-scale` measured 87.0 CPU-s per source minute for a chunk's three rungs at one thread;
the audio figures are from 20 s runs, startup included, so they overstate a long source's).
Camera footage costs more to encode than a test pattern, and a 4K or 60 fps source more to
decode: MARGIN covers that.
"""

from __future__ import annotations

import json
import math

import pytest

from infra import load
from infra.serverless import ROOT, load_yaml
from transcode.adapters.media import FAST_AAC_AFTER_SECONDS
from transcode.logic.chunking import MAX_TIMESCALE, Grid, plan_chunks

pytestmark = pytest.mark.service("transcode")

LADDER_CPU_PER_SOURCE_SECOND = 87.0 / 60  # the three 1080p rungs of one chunk, decoded once (x264 veryfast)
AAC_CPU_PER_SOURCE_SECOND = {"twoloop": 0.049, "fast": 0.034}  # stereo 128 kb/s, one thread
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
    coder = "fast" if longest > FAST_AAC_AFTER_SECONDS else "twoloop"
    encode = longest * AAC_CPU_PER_SOURCE_SECOND[coder] * min(MARGIN, 1.5) / min(1.0, _vcpus(function))
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
    definition = transcode["resources"]["Resources"]["TranscodeWorkflow"]["Properties"]["Definition"]
    assert waves * chunk_wall + 2 * function.timeout < definition["TimeoutSeconds"]
