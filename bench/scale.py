"""Scale benchmark: the transcode workflow on the local stack with 1, 2, ... media task workers.

What it measures
    Wall time from upload to READY for one generated source (lavfi testsrc2 + sine, H.264/AAC, 16:9,
    30 fps, --seconds long, --height tall; made once with x264 veryfast and cached in .demo/bench/),
    once per K in --workers. Each run starts its own local stack (`python -m devstack up`, as
    tests/e2e do) with K worker processes on the media tasks queue (as Lambda scales its SQS event
    source), FFMPEG_THREADS=--threads (stage param ffmpegThreads), chunkSeconds=--chunk and
    chunkConcurrency=K (the Map's MaxConcurrency), uploads the source through the API as a browser
    does (POST /uploads, then the form POST to S3), and polls GET /videos/{id} until READY.

    The stages come from the execution's history (GetExecutionHistory: the first time each state is
    entered and the last time it is exited): plan, encode (the Parallel of the chunk Map and the audio
    encode) and assemble (HLS playlists, MP4 downloads, sprites, publish).

    Then, with no stack running, the cost of the encoders: one chunk (the first --chunk seconds) through
    the service's own `chunk_command` restricted to one rendition, once per rung; the same chunk with
    every rung (the real chunk task: one decode, every rung); and `audio_command` over the whole source.
    Each is the ffmpeg child's user+sys time (getrusage RUSAGE_CHILDREN), as CPU-seconds per minute of
    source. From those and services/transcode/serverless.yml (chunkSeconds, chunkConcurrency, mediaTasks
    memorySize: Lambda gives 1 vCPU per 1769 MB) it projects the encode stage on Lambda for a 1-hour
    source at --height; the output says how.

How to read it
    wall s        upload -> READY seen by the client (includes the upload, the S3 event and the catalog).
    speed-up      wall(K=1) / wall(K). Target >= 0.8 x K while K x threads <= the machine's cores (with
                  --threads 0, ffmpeg's choice, every process counts as using every core).
    plan, encode, assemble s   the state machine's stages; other s = wall minus the three (upload, events,
                  queue polling, the catalog's READY).
    overhead      (plan + assemble) / wall; target <= 10 %.
    others        CPU the rest of the machine used during the run (from /proc/stat, minus the stack's own).
                  Well above 0 %, the run competed for the CPUs and its wall time is skewed: take the
                  figures on a quiet machine.

The encoders' cost is also written to .demo/bench/encoder-costs.json (with the plan and assemble stages per
source minute of the first run), which `make cost` prices; `--costs-only` measures only that, with no stack.

Run from the repository root: `.venv/bin/python bench/scale.py` (or `make bench-scale ARGS="..."`). It exits 0
when everything ran (a report, not a test: a missed target is printed, not failed); 1 if the stack, a
transcode or an ffmpeg run fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
IMPORT_PATHS = [REPO, REPO / "shared" / "src", REPO / "services" / "transcode"]
sys.path[:0] = [str(path) for path in IMPORT_PATHS]

import mediatools  # noqa: E402
from bench.machine import BenchError, children_cpu, cores, local_stack, machine_busy, run_ffmpeg  # noqa: E402
from contracts.media import Probe  # noqa: E402
from devstack.demo import Client, DemoFailed, upload  # noqa: E402
from devstack.issuer import Issuer  # noqa: E402
from infra import load, local_session  # noqa: E402
from transcode.adapters.media import FfmpegMedia, SourceInput, audio_command, chunk_command  # noqa: E402
from transcode.logic.chunking import Grid, plan_chunks, timescale  # noqa: E402
from transcode.logic.gate import GateLimits, inspect  # noqa: E402
from transcode.logic.ladder import Rendition, plan_ladder  # noqa: E402
from transcode.logic.ports import SourceRef  # noqa: E402

CACHE = REPO / ".demo" / "bench"
MEDIA_TASKS = "transcode-mediaTasks"
LAMBDA_MB_PER_VCPU = 1769
PROJECTED_SECONDS = 3600
TARGET_EFFICIENCY = 0.8
TARGET_OVERHEAD = 0.10
COSTS_FILE = REPO / ".demo" / "bench" / "encoder-costs.json"  # read by tools/cost.py
FPS = 30
GLOBAL_ARGS = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def say(message: str) -> None:
    print(f"scale: {message}", file=sys.stderr, flush=True)


def cached_source(seconds: int, height: int) -> Path:
    """The generated source, made once per length and height (x264 veryfast: a camera-like ~5 Mb/s at 1080p)."""
    width = round(height * 16 / 9 / 2) * 2
    path = CACHE / f"testsrc2-{width}x{height}-{seconds}s.mp4"
    if path.is_file():
        return path
    say(f"making a {seconds} s {width}x{height} source (once; cached as {path.relative_to(REPO)})")
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.mp4")
    args = [mediatools.ffmpeg(), *GLOBAL_ARGS]
    args += ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={FPS}:duration={seconds}"]
    args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest", str(partial)]
    run_ffmpeg(args, timeout=max(600, seconds * 10))
    partial.replace(path)  # an interrupted run leaves no half-made source in the cache
    return path


# --- one run: a local stack with K workers ---------------------------------------------------------------


@dataclass
class Run:
    workers: int
    wall: float
    upload: float
    stages: dict[str, float]  # plan, encode, assemble
    others: float | None  # share of the machine other processes used meanwhile

    @property
    def overhead(self) -> float:
        return (self.stages["plan"] + self.stages["assemble"]) / self.wall

    @property
    def other(self) -> float:
        return self.wall - sum(self.stages.values())


def wait_until_ready(client: Client, video_id: str, timeout: float) -> dict[str, Any]:
    started, last = time.monotonic(), None
    while time.monotonic() - started < timeout:
        response = client.session.get(f"{client.api}/videos/{video_id}", timeout=30)
        video: dict[str, Any] | None = response.json() if response.status_code == 200 else None
        status = video["status"] if video else "waiting for the upload event"
        if status != last:
            say(f"  [{time.monotonic() - started:6.1f}s] {status}")
            last = status
        if video and status == "READY":
            return video
        if video and status == "FAILED":
            raise BenchError(f"video {video_id} FAILED: {video.get('failure')}")
        time.sleep(0.25)
    raise BenchError(f"video {video_id} was not READY after {timeout:.0f}s (last status: {last})")


def stage_seconds(ready: dict[str, Any], video_id: str) -> dict[str, float]:
    """Plan, encode and assemble from the execution's history: first entered to last exited."""
    sfn = local_session(ready["region"]).client("stepfunctions", endpoint_url=ready["endpoint"])
    (machine,) = [m["arn"] for m in ready["state_machines"] if m["name"].startswith("video24-transcode-")]
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    arns = [e["executionArn"] for e in executions if e["name"].startswith(f"{video_id}-")]
    if not arns:
        raise BenchError(f"no execution of the transcode workflow for video {video_id}")
    events: list[dict[str, Any]] = []
    request: dict[str, Any] = {"executionArn": arns[0], "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**request)
        events += page["events"]
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    entered: dict[str, datetime] = {}
    exited: dict[str, datetime] = {}
    for event in events:
        if details := event.get("stateEnteredEventDetails"):
            entered.setdefault(details["name"], event["timestamp"])
        elif details := event.get("stateExitedEventDetails"):
            exited[details["name"]] = event["timestamp"]
    states = {"plan": "Plan", "encode": "Encode", "assemble": "Assemble"}
    missing = [state for state in states.values() if state not in entered or state not in exited]
    if missing:
        raise BenchError(f"the execution history has no complete {', '.join(missing)} state")
    return {stage: (exited[state] - entered[state]).total_seconds() for stage, state in states.items()}


def run_once(source: Path, workers: int, params: dict[str, str], timeout: float) -> Run:
    folder = CACHE / f"run-k{workers}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ready.json").unlink(missing_ok=True)
    cpu, busy, began = children_cpu(), machine_busy(), time.monotonic()  # the whole run, stack start to stop
    say(f"K={workers}: starting the local stack ({folder.relative_to(REPO)}/logs)")
    options = [token for name, value in (params | {"chunkConcurrency": str(workers)}).items()
               for token in ("--param", f"{name}={value}")]  # fmt: skip
    with local_stack(folder, *options, "--concurrency", f"{MEDIA_TASKS}={workers}") as ready:
        issuer = Issuer.load(Path(ready["issuer"]["key_file"]))
        client = Client(ready["api"], issuer.token("bench-user"))
        say(f"K={workers}: uploading {source.name} ({source.stat().st_size / 1e6:.0f} MB)")
        started = time.monotonic()
        try:
            sent = upload(client, source)
        except DemoFailed as exc:
            raise BenchError(str(exc)) from None
        wait_until_ready(client, sent.video_id, timeout)
        wall = time.monotonic() - started
        stages = stage_seconds(ready, sent.video_id)
    others = None
    if busy is not None and (busy_now := machine_busy()) is not None:
        ours = children_cpu() - cpu  # the stack, its workers and their ffmpegs (each waited for by its parent)
        others = max(0.0, busy_now - busy - ours) / ((time.monotonic() - began) * cores())
    say(f"K={workers}: READY in {wall:.1f} s")
    return Run(workers, wall, sent.seconds, stages, others)


# --- the encoders' cost, with no stack running -----------------------------------------------------------


@dataclass
class Costs:
    chunk_seconds: float
    per_rung: dict[str, float]  # CPU-s per minute of source, each rung alone
    all_rungs: float  # the real chunk task: every rung from one decode
    audio: float


def encoder_costs(source: Path, probe: Probe, renditions: list[Rendition], grid: Grid, threads: int) -> Costs:
    media = FfmpegMedia(threads=threads)
    accepted = inspect(probe, GateLimits())
    scale = timescale(probe.video.time_base if probe.video else None)
    chunk = plan_chunks(accepted.duration, grid)[0]  # the first chunk, as the workflow cuts it
    minutes = (chunk.end_seconds - chunk.start_seconds) / 60
    inputs = SourceInput(mediatools.local_input(source), accepted.demuxer)

    def chunk_cpu(rungs: list[Rendition]) -> float:
        with tempfile.TemporaryDirectory(prefix="scale-bench-") as out:
            args, _ = chunk_command(
                inputs, chunk, rungs, grid, scale, Path(out), poster_at=None, preset=media.preset, threads=threads
            )
            return run_ffmpeg(args, media.encode_timeout) / minutes

    per_rung = {}
    for rendition in renditions:
        say(f"cost: one {chunk.end_seconds:g} s chunk, {rendition.name} alone")
        per_rung[rendition.name] = chunk_cpu([rendition])
    say(f"cost: one {chunk.end_seconds:g} s chunk, every rung (the chunk task)")
    all_rungs = chunk_cpu(renditions)
    say(f"cost: the audio of the whole {accepted.duration:g} s")
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as out:
        args = audio_command(inputs, Path(out) / "audio.mp4", video_seconds=accepted.duration)
        audio = run_ffmpeg(args, media.encode_timeout) / (accepted.duration / 60)
    return Costs(chunk.end_seconds - chunk.start_seconds, per_rung, all_rungs, audio)


# --- the report ------------------------------------------------------------------------------------------


def report(
    options: argparse.Namespace, source: Path, renditions: list[Rendition], runs: list[Run], costs: Costs
) -> None:
    machine = cores()
    threads = options.threads or machine  # 0: ffmpeg's choice, which is every core
    ladder = ", ".join(f"{r.name} {r.width}x{r.height}" for r in renditions)
    chunks = len(plan_chunks(options.seconds, Grid(chunk_seconds=options.chunk)))
    print(f"machine:  {machine} cores; load average now {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    print(f"source:   {source.name} ({source.stat().st_size / 1e6:.0f} MB); ladder {ladder}")
    print(f"workflow: {chunks} chunks of {options.chunk} s + one audio encode; FFMPEG_THREADS={options.threads}"
          f"{' (ffmpeg decides)' if not options.threads else ''}; chunkConcurrency=K")  # fmt: skip
    print()
    header = f"{'K':>3}  {'wall s':>7}  {'speed-up':>8}  {'plan s':>6}  {'encode s':>8}  {'assemble s':>10}"
    header += f"  {'other s':>7}  {'overhead':>8}  {'others':>6}  targets"
    print(header)
    reference = runs[0].wall if runs and runs[0].workers == 1 else None
    for run in runs:
        speedup = reference / run.wall if reference else None
        verdicts = []
        if speedup is not None and run.workers > 1:
            if run.workers * threads <= machine:
                wanted = TARGET_EFFICIENCY * run.workers
                verdicts.append(f"speed-up >= {wanted:.1f}: {'met' if speedup >= wanted else 'NOT met'}")
            else:
                verdicts.append(f"speed-up: n/a (K x threads = {run.workers * threads} > {machine} cores)")
        verdicts.append(f"overhead <= {TARGET_OVERHEAD:.0%}: {'met' if run.overhead <= TARGET_OVERHEAD else 'NOT met'}")
        others = f"{run.others:.0%}" if run.others is not None else "-"
        print(
            f"{run.workers:>3}  {run.wall:>7.1f}  {(f'{speedup:.2f}' if speedup else '-'):>8}"
            f"  {run.stages['plan']:>6.1f}  {run.stages['encode']:>8.1f}  {run.stages['assemble']:>10.1f}"
            f"  {run.other:>7.1f}  {run.overhead:>8.1%}  {others:>6}  {'; '.join(verdicts)}"
        )
    if reference is None:
        print("(speed-up needs K=1 first in --workers)")
    busy = [run.others for run in runs if run.others is not None and run.others > 0.05]
    if busy:
        print(
            "WARNING: other processes used the CPUs during the runs: wall times are skewed (measure on a quiet machine)"
        )
    print()
    print(f"encoder cost, CPU-seconds (user+sys) per minute of source, from one {costs.chunk_seconds:g} s chunk"
          f" at FFMPEG_THREADS={options.threads}:")  # fmt: skip
    for name, cpu in costs.per_rung.items():
        print(f"  {name:<10} {cpu:7.1f}   (chunk_command with this rung alone: its own decode + thumbnails)")
    print(f"  {'sum':<10} {sum(costs.per_rung.values()):7.1f}")
    print(f"  {'all rungs':<10} {costs.all_rungs:7.1f}   (the chunk task: one decode, every rung)")
    print(f"  {'audio':<10} {costs.audio:7.1f}   (audio_command over the whole source)")
    print()
    project(options, costs)


def project(options: argparse.Namespace, costs: Costs) -> None:
    """The encode stage on Lambda for a 1-hour source, from the measured cost and the declared settings."""
    media_tasks = next(f for f in load("local").functions if f.key == MEDIA_TASKS)
    chunk_seconds = int(media_tasks.environment["CHUNK_SECONDS"])
    concurrency = int(media_tasks.environment["CHUNK_CONCURRENCY"])
    encode_timeout = float(media_tasks.environment["ENCODE_TIMEOUT_SECONDS"])
    vcpus = media_tasks.memory / LAMBDA_MB_PER_VCPU
    chunks = math.ceil(PROJECTED_SECONDS / chunk_seconds)
    waves = math.ceil(chunks / concurrency)
    chunk_wall = costs.all_rungs * chunk_seconds / 60 / vcpus
    audio_wall = costs.audio * PROJECTED_SECONDS / 60 / min(1.0, vcpus)
    encode = max(waves * chunk_wall, audio_wall)
    print(f"projection on Lambda, a {PROJECTED_SECONDS // 60}-minute {options.height}p source (encode stage only):")
    print(f"  mediaTasks memorySize {media_tasks.memory} MB / {LAMBDA_MB_PER_VCPU} MB per vCPU = {vcpus:.2f} vCPU;"
          f" chunkSeconds {chunk_seconds}, chunkConcurrency {concurrency} (serverless.yml defaults)")  # fmt: skip
    print(f"  {chunks} chunks in {waves} wave{'s' if waves > 1 else ''} of at most {concurrency};"
          f" a chunk = {costs.all_rungs:.1f} CPU-s/min x {chunk_seconds / 60:g} min / {vcpus:.2f} vCPU"
          f" = {chunk_wall:.0f} s")  # fmt: skip
    print(f"  audio, one process beside the chunks = {costs.audio:.1f} CPU-s/min x {PROJECTED_SECONDS // 60} min"
          f" / {min(1.0, vcpus):g} vCPU (AAC runs on one thread) = {audio_wall:.0f} s")  # fmt: skip
    print(f"  encode stage = max({waves} x {chunk_wall:.0f} s, {audio_wall:.0f} s) = {encode:.0f} s"
          f" ({'the audio' if audio_wall > waves * chunk_wall else 'the chunks'} set it)")  # fmt: skip
    print("  assumes: a Lambda vCPU as fast as one core here and fully used by ffmpeg, every chunk started at once")
    print("  (no cold starts, throttling or S3 transfer time); plan and assemble come on top (see overhead above).")
    for what, seconds in (("a chunk task", chunk_wall), ("the audio task", audio_wall)):
        if seconds > encode_timeout:
            print(f"  WARNING: {what} ({seconds:.0f} s) would exceed ENCODE_TIMEOUT_SECONDS ({encode_timeout:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated K: media task workers per run (default 1,2)")
    parser.add_argument("--threads", type=int, default=1, help="FFMPEG_THREADS; 0 is ffmpeg's choice (default 1)")
    parser.add_argument("--seconds", type=int, default=180, help="length of the generated source (default 180)")
    parser.add_argument("--chunk", type=int, default=30, help="chunkSeconds, a multiple of 6 (default 30)")
    parser.add_argument("--height", type=int, default=1080, help="source height, width is 16:9 (default 1080)")
    parser.add_argument("--timeout", type=float, help="seconds to wait for READY per run (default 60 + 30 x --seconds)")
    parser.add_argument("--costs-only", action="store_true", help="only the encoders' cost (no stack), for make cost")
    options = parser.parse_args()
    try:
        workers = [int(k) for k in options.workers.split(",")]
        Grid(chunk_seconds=options.chunk)
    except ValueError as exc:
        parser.error(f"--workers is a list like 1,2,4 and --chunk a multiple of 6 s: {exc}")
    if min(workers) < 1 or options.threads < 0 or options.seconds < 2 or options.height < 2:
        parser.error("--workers at least 1 each, --threads at least 0, --seconds and --height at least 2")
    try:
        return bench(options, workers)
    except (BenchError, mediatools.MediaToolError) as exc:
        print(f"scale: {exc}", file=sys.stderr)
        return 1


def bench(options: argparse.Namespace, workers: list[int]) -> int:
    source = cached_source(options.seconds, options.height)
    probe = FfmpegMedia().probe(SourceRef(mediatools.local_input(source)))
    accepted = inspect(probe, GateLimits())
    renditions = plan_ladder(accepted.width, accepted.height)
    params = {"ffmpegThreads": str(options.threads), "chunkSeconds": str(options.chunk)}
    timeout = options.timeout or 60 + 30 * options.seconds
    runs = [] if options.costs_only else [run_once(source, k, params, timeout) for k in workers]
    costs = encoder_costs(source, probe, renditions, Grid(chunk_seconds=options.chunk), options.threads)
    save_costs(options, costs, runs)
    if runs:
        report(options, source, renditions, runs, costs)
    else:
        print(f"encoder cost written to {COSTS_FILE.relative_to(REPO)}: {costs.all_rungs:.1f} CPU-s per source minute"
              f" for every rung, {costs.audio:.1f} for the audio")  # fmt: skip
    return 0


def save_costs(options: argparse.Namespace, costs: Costs, runs: list[Run]) -> None:
    """What `make cost` prices the transcode with: the encoders' CPU per source minute, measured here."""
    minutes = options.seconds / 60
    stages = {name: runs[0].stages[name] / minutes for name in ("plan", "assemble")} if runs else {}
    record = {
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"cores": cores(), "platform": platform.platform(), "processor": platform.machine()},
        "source": {"height": options.height, "seconds": options.seconds, "fps": FPS},
        "ffmpeg_threads": options.threads,
        "chunk_seconds": costs.chunk_seconds,
        "cpu_seconds_per_source_minute": {
            "per_rung": costs.per_rung,
            "all_rungs": costs.all_rungs,
            "audio": costs.audio,
        },
        "stage_seconds_per_source_minute": stages,  # wall of the first run (K workers as given), when there was one
    }
    COSTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    COSTS_FILE.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
