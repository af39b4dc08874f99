"""What the transcode workflow measures: each chunk's encode time, and per video the wall and CPU seconds it
cost per minute of source (CPU summed over every task, as the media tool's child processes used it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import count
from pathlib import Path

import pytest

from contracts.events import VideoTranscoded
from tests.unit import test_workflow_logic as workflow_tests
from tests.unit.fakes import FakeMedia, FakeMeter, FakePublisher, FakeStorage, FakeTombstones, encode_every_chunk
from tests.unit.test_workflow_logic import BUCKET, GRID, SOURCE_KEY, STARTED, World, _probe
from transcode.logic import assembly, encoding
from transcode.logic.workflow import WorkflowConfig, WorkflowDeps

pytestmark = pytest.mark.service("transcode")

chunk_file = workflow_tests.chunk_file  # one real fragmented MP4 chunk, for the fake media tool to copy
CPU_PER_TASK = 1.5  # the fake CPU clock moves this much between two readings: every task's own CPU


@pytest.fixture
def metered(tmp_path: Path, chunk_file: Path) -> tuple[World, FakeMeter]:
    """The workflow with fakes, a meter, a CPU clock, and a clock that moves a second each time it is read."""
    storage = FakeStorage({("uploads", SOURCE_KEY): "etag-1"})
    media, publisher, tombstones, meter = (
        FakeMedia(_probe(), chunk_file=chunk_file),
        FakePublisher(),
        FakeTombstones(),
        FakeMeter(),
    )
    config = WorkflowConfig(output_bucket=BUCKET, work_dir=tmp_path / "work", grid=GRID)
    ticks, cpu = count(), count()
    deps = WorkflowDeps(
        storage, publisher, media, tombstones, config,
        clock=lambda: STARTED + timedelta(seconds=next(ticks)),
        meter=meter,
        cpu_clock=lambda: next(cpu) * CPU_PER_TASK,
    )  # fmt: skip
    return World(storage, publisher, media, tombstones, deps), meter


def recorded(meter: FakeMeter, name: str) -> list[float]:
    return [value for metric, value, _ in meter.recorded if metric == name]


def test_chunks_and_the_whole_video_are_measured(metered: tuple[World, FakeMeter]):
    world, meter = metered
    # When a 12.5 s video goes through the workflow (4 chunks in 2 rounds, the audio, the assembly)
    the_plan = world.plan()
    encode_every_chunk(the_plan, world.deps)
    encoding.encode_audio(the_plan, world.deps)
    assert assembly.assemble(the_plan, world.deps)["status"] == "published"
    # Then each chunk's encode seconds are counted as stored in its record
    stored = [world.storage.documents[(BUCKET, the_plan.piece_key(w.chunk.index, w.round))] for w in the_plan.work]
    assert recorded(meter, "ChunkSeconds") == [r["seconds"] for r in stored] and len(stored) == 8
    assert [r["cpu_seconds"] for r in stored] == [CPU_PER_TASK] * 8
    # And the video cost its workflow's wall time and ten tasks' CPU, per minute of source
    [event] = [e for e in world.publisher.published if isinstance(e, VideoTranscoded)]
    minutes = 12.5 / 60
    assert recorded(meter, "TranscodeWallSecondsPerSourceMinute") == [
        pytest.approx(event.timings["total"] / minutes, abs=0.01)
    ]
    assert event.timings["total"] > 0
    assert recorded(meter, "TranscodeCpuSecondsPerSourceMinute") == [pytest.approx(10 * CPU_PER_TASK / minutes)]


def test_work_not_done_again_is_not_measured_again(metered: tuple[World, FakeMeter]):
    world, meter = metered
    the_plan = world.plan()
    # When a chunk is done twice (a retried task) and an assembly finds the video deleted
    encoding.encode_chunk(the_plan, the_plan.chunks[0], world.deps)
    encoding.encode_chunk(the_plan, the_plan.chunks[0], world.deps)
    for item in the_plan.work[1:]:
        encoding.encode_chunk(the_plan, item.chunk, world.deps, item.round)
    encoding.encode_audio(the_plan, world.deps)
    world.tombstones.mark("vid00001", deleted_at=STARTED, expires_at=STARTED)
    assert assembly.assemble(the_plan, world.deps)["status"] == "skipped"
    # Then there are eight chunk encodes, and no cost of a video that was not published
    assert len(recorded(meter, "ChunkSeconds")) == 8
    assert [name for name, _, _ in meter.recorded] == ["ChunkSeconds"] * 8


def test_without_a_cpu_measure_of_every_task_only_the_wall_time_is_told(metered: tuple[World, FakeMeter]):
    world, meter = metered
    # Given chunks stored by a worker that did not measure CPU (before this was deployed), then a rerun that does
    measuring = world.deps
    world.deps = replace(measuring, cpu_clock=None)
    the_plan = world.plan()
    encode_every_chunk(the_plan, world.deps)
    world.deps = measuring
    encoding.encode_audio(the_plan, world.deps)
    # When the video is assembled
    assert assembly.assemble(the_plan, world.deps)["status"] == "published"
    # Then its wall time per minute is told, and no CPU figure that would leave the chunks out
    assert len(recorded(meter, "TranscodeWallSecondsPerSourceMinute")) == 1
    assert recorded(meter, "TranscodeCpuSecondsPerSourceMinute") == []
