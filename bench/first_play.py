"""First-play benchmark: how soon after an upload its video can be watched, the growing stream against today's path.

What it measures
    For each source length (--lengths, seconds; generated 1080p testsrc2 + a tone, H.264/AAC, cached in
    .demo/bench/ like bench/scale.py's) and each path, on the local stack with --workers media task workers
    (chunkSeconds 60 and chunkConcurrency = workers, as bench/scale.py runs it):

      growing   earlyStream=true: round 0 (the lowest rung) and the audio first, published as a growing
                stream (services/transcode/transcode/logic/growing.py).
      today     earlyStream=false: every rung of even 60 s chunks at once; the video plays once READY.

    t = 0 is when the upload's POST to S3 answered. Then GET /videos/{id} every 0.25 s:
      first play   the first time `playback` is there AND its master playlist, the first media playlist,
                   its init segment and first segment are all fetched through the playback link, and the
                   segment decodes (ffprobe counts its frames);
      growth       the encoded prefix's speed: source seconds made playable per wall second, from the first
                   `playable_seconds` to the whole video (or READY); for today's path the whole video at READY
                   (duration / seconds to READY);
      ready        status READY.

    Then the projection for Lambda of the growing path: the first round-0 chunk (one segment of the
    lowest rung, with the poster and thumbnails) and a full 60 s round-0 chunk are encoded here with the
    service's own chunk_command, and their CPU-seconds divided by the mediaTasks function's vCPUs
    (memorySize / 1769 MB); the plan stage is this run's (from the execution history, ffprobe over the
    network is no faster on Lambda); the hops are stated assumptions (PROJECTION_HOPS). First play on Lambda =
    hops + plan + the first chunk; the whole video's lowest rung plays after hops + plan + one full
    chunk, whatever its length (up to chunkConcurrency chunks in flight).

How to read it
    first play s and ready s per path, the ratio today / growing, and growth x (>= 1.5 wanted with 2
    workers: the prefix outruns a viewer). Aims: first play <= 10 s here for every length; <= 5 s projected
    for Lambda.

Run from the repository root: `make bench-first-play` (ARGS="--lengths 10,120 --workers 2"). It exits 0
when every run finished (a report, not a test: a missed aim is printed, not failed); 1 if a run failed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(path) for path in (REPO, REPO / "shared" / "src", REPO / "services" / "transcode")]

import mediatools  # noqa: E402
from bench.machine import BenchError, local_stack, run_ffmpeg  # noqa: E402
from bench.scale import CACHE, LAMBDA_MB_PER_VCPU, MEDIA_TASKS, cached_source, stage_seconds  # noqa: E402
from contracts.events import ChunkRef  # noqa: E402
from devstack.demo import Client, DemoFailed, upload  # noqa: E402
from devstack.issuer import Issuer  # noqa: E402
from infra import load  # noqa: E402
from transcode.adapters.media import SourceInput, chunk_command  # noqa: E402
from transcode.logic.chunking import Grid  # noqa: E402
from transcode.logic.ladder import plan_ladder  # noqa: E402

HEIGHT = 1080
CHUNK_SECONDS = 60
POLL_SECONDS = 0.25
AIM_LOCAL, AIM_LAMBDA, AIM_GROWTH = 10.0, 5.0, 1.5
# Seconds the projection adds for what is not encoding (assumed, not measured here): the S3 event to the start
# function and StartExecution (1.0); the Map's task message to a warm mediaTasks function (0.3); storing the
# chunk, the playlists and the progress event, and the catalog's write (0.5).
PROJECTION_HOPS = {"upload event and start": 1.0, "task message": 0.3, "store and publish": 0.5}
BYTERANGE = re.compile(r'BYTERANGE[:=]"?(\d+)@(\d+)')


def say(message: str) -> None:
    print(f"first-play: {message}", file=sys.stderr, flush=True)


@dataclass
class Run:
    path: str
    seconds: int
    first_play: float | None = None
    ready: float | None = None
    plan: float | None = None
    samples: list[tuple[float, float]] = field(default_factory=list)  # (t, playable seconds)

    def growth(self) -> float | None:
        """Source seconds made playable per wall second, from the first playable prefix to the whole video."""
        if self.path == "today":
            return self.seconds / self.ready if self.ready else None
        if len(self.samples) < 2:
            return None
        (t0, s0), whole = self.samples[0], [(t, s) for t, s in self.samples if s >= self.seconds - 0.5]
        t1, s1 = whole[0] if whole else self.samples[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else None


def _range(session: requests.Session, url: str, byterange: tuple[int, int] | None) -> bytes:
    headers = {"Range": f"bytes={byterange[1]}-{byterange[1] + byterange[0] - 1}"} if byterange else {}
    response = session.get(url, headers=headers, timeout=30)
    response.raise_for_status()
    return response.content


def playable_start(session: requests.Session, master_url: str) -> bool:
    """The master, the first media playlist, its init and first segment fetched, and the segment decoded."""
    master = session.get(master_url, timeout=30)
    variant = next((line for line in master.text.splitlines() if line and not line.startswith("#")), None)
    if master.status_code != 200 or variant is None:
        return False
    media = session.get(urljoin(master_url, variant), timeout=30)
    lines = media.text.splitlines()
    init = next((line for line in lines if line.startswith("#EXT-X-MAP:")), "")
    first = next((i for i, line in enumerate(lines) if line and not line.startswith("#")), None)
    init_uri, init_range = re.search(r'URI="([^"]+)"', init), BYTERANGE.search(init)
    segment_range = BYTERANGE.search(lines[first - 1]) if first else None
    if media.status_code != 200 or not (first and init_uri and init_range and segment_range):
        return False
    data = _range(session, init_uri[1], (int(init_range[1]), int(init_range[2])))
    data += _range(session, lines[first], (int(segment_range[1]), int(segment_range[2])))
    with tempfile.NamedTemporaryFile(suffix=".mp4") as file:
        file.write(data)
        file.flush()
        counted = subprocess.run(
            [mediatools.ffprobe(), "-v", "error", "-count_frames", "-select_streams", "v:0",
             "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file.name],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    return counted.returncode == 0 and counted.stdout.strip().isdigit() and int(counted.stdout) > 0


def run_once(source: Path, seconds: int, path: str, workers: int, timeout: float) -> Run:
    folder = CACHE / f"first-play-{path}-{seconds}s"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ready.json").unlink(missing_ok=True)
    params = {"chunkSeconds": CHUNK_SECONDS, "chunkConcurrency": workers, "earlyStream": path == "growing"}
    options = [token for name, value in params.items() for token in ("--param", f"{name}={str(value).lower()}")]
    run = Run(path, seconds)
    say(f"{seconds} s, {path}: starting the local stack ({folder.relative_to(REPO)}/logs)")
    with local_stack(folder, *options, "--concurrency", f"{MEDIA_TASKS}={workers}") as ready:
        issuer = Issuer.load(Path(ready["issuer"]["key_file"]))
        client = Client(ready["api"], issuer.token("bench-user"))
        try:
            sent = upload(client, source)
        except DemoFailed as exc:
            raise BenchError(str(exc)) from None
        began = time.monotonic()
        player = requests.Session()
        while run.ready is None:
            now = time.monotonic() - began
            if now > timeout:
                raise BenchError(f"{seconds} s, {path}: not READY after {timeout:.0f} s")
            response = client.session.get(f"{client.api}/videos/{sent.video_id}", timeout=30)
            video: dict[str, Any] = response.json() if response.status_code == 200 else {}
            status = video.get("status")
            if status == "FAILED":
                raise BenchError(f"{seconds} s, {path}: FAILED: {video.get('failure')}")
            playable = video.get("playable_seconds")
            if playable and (not run.samples or playable > run.samples[-1][1]):
                run.samples.append((now, float(playable)))
            playback = (video.get("playback") or {}).get("hls")
            if run.first_play is None and playback and playable_start(player, playback):
                run.first_play = time.monotonic() - began
                say(f"{seconds} s, {path}: first play at {run.first_play:.1f} s ({status})")
            if status == "READY":
                run.ready = now
                run.samples.append((now, float(seconds)))
                say(f"{seconds} s, {path}: READY at {run.ready:.1f} s")
            time.sleep(POLL_SECONDS)
        run.plan = stage_seconds(ready, sent.video_id)["plan"]
    return run


def chunk_cpu(source: Path, length: float, *, first: bool) -> float:
    """CPU-seconds of a round-0 chunk task's ffmpeg: the lowest rung (with thumbnails; the poster when first)."""
    rungs = plan_ladder(1920, HEIGHT)
    grid = Grid(chunk_seconds=CHUNK_SECONDS)
    with tempfile.TemporaryDirectory() as work:
        args, _ = chunk_command(
            SourceInput(mediatools.local_input(source), "mov"),
            ChunkRef(index=0, start_seconds=0, end_seconds=length),
            rungs[-1:],
            grid,
            90_000,
            Path(work),
            poster_at=1.0 if first else None,
            top=rungs[0],
        )
        return run_ffmpeg(args, timeout=600)


def report(runs: list[Run], source: Path, workers: int) -> None:
    media_tasks = next(f for f in load("local").functions if f.key == MEDIA_TASKS)
    vcpus = media_tasks.memory / LAMBDA_MB_PER_VCPU
    first_cpu = chunk_cpu(source, Grid().segment_seconds, first=True)
    full_cpu = chunk_cpu(source, CHUNK_SECONDS, first=False)
    print(f"\nfirst play after upload, 1080p testsrc2, {workers} media workers, chunkSeconds {CHUNK_SECONDS}")
    print(f"{'source':>8}  {'path':<8} {'first play s':>12} {'ready s':>8} {'growth x':>9}  today/growing (first play)")
    by_key = {(r.seconds, r.path): r for r in runs}
    for run in runs:
        growth = run.growth()
        other = by_key.get((run.seconds, "today"))
        ratio = ""
        if run.path == "growing" and other and other.first_play and run.first_play:
            ratio = f"{other.first_play / run.first_play:.1f}x sooner"
        first = f"{run.first_play:.1f}" if run.first_play is not None else "-"
        print(f"{run.seconds:>7}s  {run.path:<8} {first:>12} {run.ready or 0:>8.1f} "
              f"{(f'{growth:.2f}' if growth else '-'):>9}  {ratio}")  # fmt: skip
    growing = [r for r in runs if r.path == "growing"]
    worst = max((r.first_play or float("inf") for r in growing), default=None)
    slowest = min((r.growth() or 0.0 for r in growing), default=None)
    if worst is not None:
        print(f"aim: first play <= {AIM_LOCAL:.0f} s for every length: {'met' if worst <= AIM_LOCAL else 'MISSED'} "
              f"(worst {worst:.1f} s)")  # fmt: skip
    if slowest is not None:
        print(f"aim: prefix growth >= {AIM_GROWTH} x with {workers} workers: "
              f"{'met' if slowest >= AIM_GROWTH else 'MISSED'} (slowest {slowest:.2f} x)")  # fmt: skip
    plan = max((r.plan or 0.0 for r in growing), default=0.0)
    hops = sum(PROJECTION_HOPS.values())
    first_lambda = hops + plan + first_cpu / vcpus
    whole_lambda = hops + plan + full_cpu / vcpus
    print(f"\nLambda projection (mediaTasks {vcpus * LAMBDA_MB_PER_VCPU:.0f} MB = {vcpus:.2f} vCPU):")
    print(f"  first round-0 chunk ({Grid().segment_seconds} s, lowest rung, poster, thumbnails): "
          f"{first_cpu:.2f} CPU-s here -> {first_cpu / vcpus:.2f} s")  # fmt: skip
    print(f"  a full round-0 chunk ({CHUNK_SECONDS} s): {full_cpu:.2f} CPU-s -> {full_cpu / vcpus:.2f} s")
    print(
        f"  plan (this run's, the probe) {plan:.2f} s; hops (assumed) "
        + ", ".join(f"{name} {value:.1f} s" for name, value in PROJECTION_HOPS.items())
    )
    print(f"  first play on Lambda: {first_lambda:.1f} s (aim <= {AIM_LAMBDA:.0f} s: "
          f"{'met' if first_lambda <= AIM_LAMBDA else 'MISSED'}), any length")  # fmt: skip
    print(
        f"  the whole lowest rung playable after {whole_lambda:.1f} s for a video of up to "
        f"{media_tasks.environment['CHUNK_CONCURRENCY']} chunks (chunkConcurrency at once)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", default="10,120,600", help="source lengths in seconds (default 10,120,600)")
    parser.add_argument("--workers", type=int, default=2, help="media task workers on the local stack (default 2)")
    parser.add_argument("--paths", default="growing,today", help="which paths to run (default growing,today)")
    options = parser.parse_args()
    try:
        lengths = [int(length) for length in options.lengths.split(",")]
        runs = []
        for seconds in lengths:
            source = cached_source(seconds, HEIGHT)
            for path in options.paths.split(","):
                runs.append(run_once(source, seconds, path, options.workers, timeout=max(600, seconds * 12)))
        report(runs, cached_source(max(lengths[0], CHUNK_SECONDS + 6), HEIGHT), options.workers)
    except (BenchError, ValueError) as exc:
        say(f"failed: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
