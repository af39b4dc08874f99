"""Ladder transcode benchmark: the pipeline's one-pass ffmpeg command against two baselines.

What it measures
    Wall time to turn one generated clip (lavfi testsrc2 + sine, H.264/AAC, 16:9, 30 fps, --seconds long,
    --height tall) into the service's rendition ladder plus its poster JPEG, three ways:

    pipeline  the service's own code path: FfmpegMedia.probe, gate.inspect and plan_ladder run once up
              front; only FfmpegMedia.transcode (one ffmpeg process built by ladder_command) is timed.
    (a)       one ffmpeg process per rendition, plus one for the poster (which seeks to its frame), run one
              after another: what a naive implementation does. Every rendition process decodes the source
              and encodes the audio itself.
    (b)       the fastest single ffmpeg command found by hand for the same outputs (see HAND_WRITTEN).

    All three use the same encoder options per output. That is checked, not assumed: after each variant's
    first run every output is probed for the planned frame size and hashed, and the report says whether
    (a) and (b) wrote byte-identical files to the pipeline's (a warning line says when they did not).

    Each round runs every variant once, in an order that rotates from round to round, so that drift in
    machine load hits all of them alike. Progress goes to stderr, the report to stdout.

How to read it
    median s / min s   wall time over the --repeat rounds; the median is the number to compare.
    cpu s              median user+sys time of the ffmpeg processes. On a small machine the encoders keep
                       every core busy, so wall time mostly follows CPU time: a variant is faster when it
                       does less work, not when it runs more threads.
    others s           median CPU seconds the rest of the machine used while the variant ran (from
                       /proc/stat). Well above 0, that run competed for the CPUs and its wall time is skewed.
    outputs            "byte-identical" when every file equals the pipeline's byte for byte (the same
                       frames went into the same encoder settings); otherwise only the sizes are known equal.
    pipeline/(a)       below 1 means decoding once in one process pays off; target <= 0.85.
    pipeline/(b)       how close ladder_command is to the best hand-written command; target <= 1.05.
    --candidates also times the other hand-written commands that were tried; --show-commands prints them.

Run from the repository root: `.venv/bin/python bench/ladder.py` (or `make bench`). It always exits 0
when everything ran (it is a report, not a test); it exits 1 if an ffmpeg run fails or an output does
not match the plan.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "services" / "transcode"), str(REPO)]

import mediatools  # noqa: E402
from contracts.media import Probe  # noqa: E402
from transcode.adapters.media import AUDIO_KBPS, KEYFRAME_SECONDS, FfmpegMedia, ladder_command  # noqa: E402
from transcode.logic.gate import Accepted, GateLimits, inspect  # noqa: E402
from transcode.logic.ladder import Rendition, plan_ladder, poster_time  # noqa: E402

TARGET_VS_PER_RENDITION = 0.85
TARGET_VS_HAND_WRITTEN = 1.05
FPS = 30
GLOBAL_ARGS = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]

# (b), the hand-written single command, is CANDIDATES[HAND_WRITTEN]. Picked with --candidates on a quiet
# 2-CPU machine (10 s clip at 720p, 5 rounds, and at 1080p, 3 rounds). Against the pipeline's command it
# changes two things, and the files still come out byte for byte the same:
#   * the poster branch ends (`trim=start=T:end=T+1`). The pipeline's `trim=start=T` has no end, so once
#     the poster has its one frame every later frame still goes through the poster branch (scale, then the
#     conversion to the JPEG encoder's full-range yuvj420p) and is thrown away. With an end, trim closes
#     and split stops feeding it: about 0.8 CPU-s less per 10 s of 720p, 2.5 per 10 s of 1080p.
#   * one AAC encoder. The pipeline encodes the same audio once per rendition (ffmpeg's AAC encoder costs
#     about 0.8 CPU-s per 10 s of stereo, in ffmpeg's main thread); the tee muxer writes every rendition
#     from one audio encode, each file getting its own video stream (select=).
# Tried and not kept:
#   * cascading scales (each lower rung scaled from the rung above): the same work for a 720p source, no
#     faster at 1080p once the two changes above are in, and it changes the lower rungs' pixels there.
#   * thread knobs (-filter_complex_threads 1, decoder -threads 1, x264 -threads 2): within the noise on
#     2 CPUs, where the x264 encoders already keep both cores busy; x264 -threads also changes the bits.
HAND_WRITTEN = "split, poster ends, one AAC (tee)"


class BenchError(Exception):
    """An ffmpeg run failed or an output is not what the plan says."""


@dataclass(frozen=True)
class Job:
    """One source and what the pipeline planned for it."""

    source: Path
    accepted: Accepted
    renditions: list[Rendition]
    poster_at: float
    preset: str

    @property
    def top(self) -> Rendition:
        return self.renditions[0]


Commands = tuple[list[list[str]], dict[str, Path]]  # argument lists to run in order, and name -> output file


def run_ffmpeg(args: list[str], timeout: float) -> None:
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"ffmpeg did not finish within {timeout:.0f}s: {' '.join(args)}") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip()[-800:] or "no error output"
        raise BenchError(f"ffmpeg exited with {done.returncode}: {tail}\ncommand: {' '.join(args)}")


# --- the options every variant gives each output (outputs compared with the pipeline's byte for byte) --


def input_args(job: Job, *extra: str) -> list[str]:
    """The pipeline's input options: force the probed demuxer, read only whitelisted files."""
    return [
        *extra,
        "-f",
        job.accepted.demuxer,
        "-format_whitelist",
        ",".join(mediatools.ALLOWED_CONTAINERS),
        "-protocol_whitelist",
        "file",
        "-i",
        mediatools.local_input(job.source),
    ]


def video_options(job: Job, rendition: Rendition) -> list[str]:
    """The pipeline's x264 settings for one rung."""
    kbps = rendition.max_video_kbps
    return [
        *("-c:v", "libx264", "-preset", job.preset, "-crf", "23"),
        *("-maxrate", f"{kbps}k", "-bufsize", f"{kbps * 2}k", "-pix_fmt", "yuv420p", "-profile:v", "high"),
        *("-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})"),
    ]


AUDIO_OPTIONS = ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ac", "2"]
MOVFLAGS = "+faststart"
CONTAINER_OPTIONS = ["-movflags", MOVFLAGS, "-map_metadata", "-1"]


def rendition_options(job: Job, rendition: Rendition) -> list[str]:
    """Everything the pipeline sets on one rendition's output."""
    return video_options(job, rendition) + CONTAINER_OPTIONS + (AUDIO_OPTIONS if job.accepted.has_audio else [])


POSTER_OPTIONS = ["-frames:v", "1", "-q:v", "3"]


def output_files(job: Job, out_dir: Path) -> dict[str, Path]:
    files = {r.name: out_dir / f"{r.name}.mp4" for r in job.renditions}
    files["poster"] = out_dir / "poster.jpg"
    return files


# --- (a): one process per rendition --------------------------------------------------------------------


def per_rendition_commands(job: Job, out_dir: Path) -> Commands:
    ffmpeg = mediatools.binaries()[0]
    files = output_files(job, out_dir)
    commands = []
    for r in job.renditions:
        args = [ffmpeg, *GLOBAL_ARGS, *input_args(job), "-map", "0:v:0"]
        if job.accepted.has_audio:
            args += ["-map", "0:a:0"]
        args += ["-vf", f"scale={r.width}:{r.height},setsar=1", *rendition_options(job, r), str(files[r.name])]
        commands.append(args)
    # The poster seeks to its frame instead of decoding up to it: the cheapest way for a separate process.
    poster = [ffmpeg, *GLOBAL_ARGS, *input_args(job, "-ss", str(job.poster_at)), "-map", "0:v:0"]
    poster += ["-vf", f"scale={job.top.width}:{job.top.height}", *POSTER_OPTIONS, str(files["poster"])]
    commands.append(poster)
    return commands, files


# --- (b): hand-written single commands -------------------------------------------------------------------


def poster_trim(job: Job, *, bounded: bool) -> str:
    """The pipeline's poster cut; `bounded` ends the branch a second later instead of at the end of the file."""
    trim = f"trim=start={job.poster_at}"
    if bounded:
        trim += f":end={job.poster_at + 1}"
    return f"{trim},setpts=PTS-STARTPTS"


def split_graph(job: Job, *, bounded_poster: bool) -> str:
    """Decode once, split into one branch per rendition plus the poster; every branch scales the source."""
    count = len(job.renditions)
    labels = "".join(f"[b{i}]" for i in range(count))
    parts = [f"[0:v:0]split={count + 1}{labels}[bp]"]
    parts += [f"[b{i}]scale={r.width}:{r.height},setsar=1[o{i}]" for i, r in enumerate(job.renditions)]
    parts.append(f"[bp]{poster_trim(job, bounded=bounded_poster)},scale={job.top.width}:{job.top.height}[poster]")
    return ";".join(parts)


def cascade_graph(job: Job) -> str:
    """Scale to the top rung once; each lower rung is scaled from the rung above, the poster from the top."""
    parts, previous = [], "[0:v:0]"
    for i, r in enumerate(job.renditions):
        outs = f"[r{i}]" + ("[bp]" if i == 0 else "") + (f"[n{i}]" if i < len(job.renditions) - 1 else "")
        fanout = outs.count("[")
        parts.append(f"{previous}scale={r.width}:{r.height}" + (f",split={fanout}{outs}" if fanout > 1 else outs))
        parts.append(f"[r{i}]setsar=1[o{i}]")
        previous = f"[n{i}]"
    parts.append(f"[bp]{poster_trim(job, bounded=True)}[poster]")
    return ";".join(parts)


def per_stream(options: list[str] | tuple[str, ...], index: int) -> list[str]:
    """Output options aimed at the index-th video stream of an output: -crf 23 -> -crf:v:1 23."""
    aimed = []
    for name, value in zip(options[::2], options[1::2], strict=True):
        aimed += [f"{name.removesuffix(':v')}:v:{index}", value]
    return aimed


def tee_escape(path: Path) -> str:
    """A file name as the tee muxer reads it: backslash before the characters its parser treats specially."""
    return "".join(f"\\{char}" if char in "\\'|[]" else char for char in str(path))


@dataclass(frozen=True)
class SingleCommand:
    """A hand-written one-process ladder: a filter graph, how audio is encoded, optional thread settings.

    one_aac: encode the audio once and write every rendition through ffmpeg's tee muxer, which sends
    each file its own video stream and the shared audio stream (select=). The pipeline, like (a), runs
    one AAC encoder per rendition on the same input; the bytes come out the same either way.
    """

    graph: Callable[[Job], str]
    one_aac: bool = False
    global_extra: tuple[str, ...] = ()
    input_extra: tuple[str, ...] = ()
    video_extra: tuple[str, ...] = ()

    def commands(self, job: Job, out_dir: Path) -> Commands:
        files = output_files(job, out_dir)
        args = [mediatools.binaries()[0], *GLOBAL_ARGS, *self.global_extra, *input_args(job, *self.input_extra)]
        args += ["-filter_complex", self.graph(job)]
        audio = ["-map", "0:a:0"] if job.accepted.has_audio else []
        if self.one_aac:
            args += [token for i in range(len(job.renditions)) for token in ("-map", f"[o{i}]")] + audio
            for i, r in enumerate(job.renditions):
                args += per_stream(video_options(job, r), i) + per_stream(self.video_extra, i)
            args += AUDIO_OPTIONS if audio else []
            # the tee muxer cannot tell the encoders that mp4 wants global headers, so say it (as its docs do)
            args += ["-map_metadata", "-1", "-flags", "+global_header", "-f", "tee"]
            streams = ",a" if audio else ""
            slaves = [
                rf"[f=mp4:movflags={MOVFLAGS}:select=\'v:{i}{streams}\']{tee_escape(files[r.name])}"
                for i, r in enumerate(job.renditions)
            ]
            args.append("|".join(slaves))
        else:
            for i, r in enumerate(job.renditions):
                args += ["-map", f"[o{i}]", *audio, *rendition_options(job, r), *self.video_extra, str(files[r.name])]
        args += ["-map", "[poster]", *POSTER_OPTIONS, str(files["poster"])]
        return [args], files


def _split(bounded: bool) -> Callable[[Job], str]:
    return lambda job: split_graph(job, bounded_poster=bounded)


_SPLIT_ENDS = _split(True)
CANDIDATES: dict[str, SingleCommand] = {
    "split, as the pipeline": SingleCommand(_split(False)),
    "split, poster ends": SingleCommand(_SPLIT_ENDS),
    "split, poster ends, one AAC (tee)": SingleCommand(_SPLIT_ENDS, one_aac=True),
    "cascade, poster ends": SingleCommand(cascade_graph),
    "cascade, poster ends, one AAC (tee)": SingleCommand(cascade_graph, one_aac=True),
    "split, poster ends, one AAC, filter_complex_threads 1": SingleCommand(
        _SPLIT_ENDS, one_aac=True, global_extra=("-filter_complex_threads", "1")
    ),
    "split, poster ends, one AAC, decoder threads 1": SingleCommand(
        _SPLIT_ENDS, one_aac=True, input_extra=("-threads", "1")
    ),
    "split, poster ends, one AAC, x264 threads 2": SingleCommand(
        _SPLIT_ENDS, one_aac=True, video_extra=("-threads", "2")
    ),
}


# --- the runs ------------------------------------------------------------------------------------------


@dataclass
class Variant:
    label: str
    run: Callable[[Path], dict[str, Path]]  # writes every output into the folder, returns name -> file
    describe: Callable[[Path], list[list[str]]]
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)  # CPU seconds the rest of the machine used meanwhile
    digests: dict[str, str] = field(default_factory=dict)


def commands_variant(label: str, build: Callable[[Job, Path], Commands], job: Job, timeout: float) -> Variant:
    def run(out_dir: Path) -> dict[str, Path]:
        commands, files = build(job, out_dir)
        for args in commands:
            run_ffmpeg(args, timeout)
        return files

    return Variant(label, run, lambda out_dir: build(job, out_dir)[0])


def pipeline_variant(job: Job, media: FfmpegMedia) -> Variant:
    def run(out_dir: Path) -> dict[str, Path]:
        try:
            return media.transcode(job.source, job.accepted, job.renditions, job.poster_at, out_dir)
        except mediatools.MediaToolError as exc:
            raise BenchError(f"the pipeline's ffmpeg failed: {exc}") from None

    def describe(out_dir: Path) -> list[list[str]]:
        args, _ = ladder_command(job.source, job.accepted, job.renditions, job.poster_at, out_dir, preset=media.preset)
        return [args]

    return Variant("pipeline (ladder_command)", run, describe)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def frame_size(path: Path, *, image: bool) -> tuple[int, int] | None:
    """Width and height of a file's video; a rendition goes through the service's own probe."""
    if not image:
        video = mediatools.probe(mediatools.local_input(path)).video
        return (video.width, video.height) if video and video.width and video.height else None
    # mediatools.probe only reads video containers, so the JPEG poster is asked about directly.
    args = [mediatools.binaries()[1], "-v", "error", "-f", "image2", "-protocol_whitelist", "file"]
    args += ["-show_entries", "stream=width,height", "-of", "csv=p=0:s=x", mediatools.local_input(path)]
    width, _, height = mediatools.run("ffprobe", args, timeout=60).decode().strip().partition("x")
    return (int(width), int(height)) if width.isdigit() and height.isdigit() else None


def machine_busy() -> float | None:
    """CPU seconds the whole machine has spent busy (or stolen by the hypervisor) since boot; Linux only."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def check_outputs(job: Job, label: str, files: dict[str, Path]) -> dict[str, str]:
    """Every output exists at the planned size; returns name -> sha256 of the file."""
    planned = {r.name: (r.width, r.height) for r in job.renditions} | {"poster": (job.top.width, job.top.height)}
    if set(files) != set(planned):
        raise BenchError(f"{label}: outputs {sorted(files)}, planned {sorted(planned)}")
    digests = {}
    for name, path in files.items():
        if not path.is_file() or path.stat().st_size == 0:
            raise BenchError(f"{label}: no output for {name} ({path})")
        try:
            size = frame_size(path, image=name == "poster")
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
    args = [mediatools.binaries()[0], *GLOBAL_ARGS]
    args += ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={FPS}:duration={seconds}"]
    args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest", str(path)]
    run_ffmpeg(args, timeout=600)
    return path


def ffmpeg_version() -> str:
    done = subprocess.run([mediatools.binaries()[0], "-version"], capture_output=True, text=True, check=False)
    return done.stdout.split(" Copyright")[0] if done.stdout else "ffmpeg version unknown"


def cpu_description() -> str:
    total = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    return f"{total} CPUs" + (f" ({usable} usable by this process)" if usable != total else "")


def report(job: Job, probe: Probe, variants: list[Variant], *, a: Variant, b: Variant, rounds: int) -> None:
    video, audio = probe.video, probe.audio
    assert video is not None
    clip = f"{job.accepted.duration:g} s {video.width}x{video.height} {video.fps:g} fps {video.codec_name}"
    if audio is not None:
        clip += f" + {audio.codec_name} {audio.sample_rate} Hz {audio.channels} ch"
    clip += f", {job.source.stat().st_size / 1e6:.1f} MB (lavfi testsrc2 + sine, libx264 ultrafast)"
    ladder = ", ".join(f"{r.name} {r.width}x{r.height} <= {r.max_video_kbps}k" for r in job.renditions)
    print(f"machine:  {cpu_description()}, {ffmpeg_version()}")
    print(f"clip:     {clip}")
    print(f"ladder:   {ladder}; poster {job.top.width}x{job.top.height} at {job.poster_at:g} s")
    print(f"rounds:   {rounds} (variants interleaved, order rotating)")
    others = [seconds for variant in variants for seconds in variant.others]
    if others:
        share = sum(others) / (sum(sum(variant.walls) for variant in variants) * (os.cpu_count() or 1))
        note = "; wall times are skewed, compare cpu s" if share > 0.05 else ""
        print(f"others:   other processes used {share:.0%} of the machine during the runs{note}")
    print()
    reference = variants[0]
    width = max(len(v.label) for v in variants)
    print(f"{'variant':<{width}}  {'median s':>8}  {'min s':>6}  {'cpu s':>6}  {'others s':>8}  outputs")
    for variant in variants:
        if variant is reference:
            outputs = "reference"
        elif variant.digests == reference.digests:
            outputs = "byte-identical"
        else:
            same = sorted(name for name, digest in variant.digests.items() if reference.digests.get(name) == digest)
            outputs = "same sizes" + (f"; byte-identical: {', '.join(same)}" if same else "; bytes differ")
        used = f"{statistics.median(variant.others):.1f}" if variant.others else "-"
        print(
            f"{variant.label:<{width}}  {statistics.median(variant.walls):>8.2f}  {min(variant.walls):>6.2f}"
            f"  {statistics.median(variant.cpus):>6.1f}  {used:>8}  {outputs}"
        )
    print()
    for other in (a, b):
        if other.digests != reference.digests:
            print(f"WARNING: {other.label} does not write the same files as the pipeline: not like for like")
    pipeline = statistics.median(reference.walls)
    for name, other, target in (("(a)", a, TARGET_VS_PER_RENDITION), ("(b)", b, TARGET_VS_HAND_WRITTEN)):
        ratio = pipeline / statistics.median(other.walls)
        verdict = "met" if ratio <= target else "NOT met"
        print(f"pipeline/{name} = {ratio:.2f}   (target <= {target:.2f}: {verdict})")
    print(f"(b) is the candidate {HAND_WRITTEN!r}: why, above HAND_WRITTEN in bench/ladder.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of the generated clip (default 10)")
    parser.add_argument("--height", type=int, default=720, help="clip height, width is 16:9 (default 720)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each variant runs once a round (default 3)")
    parser.add_argument("--candidates", action="store_true", help="also time every hand-written candidate")
    parser.add_argument("--show-commands", action="store_true", help="print each variant's ffmpeg commands")
    options = parser.parse_args()
    if options.seconds < 10 or options.repeat < 1 or options.height < 2:
        parser.error("--seconds must be at least 10, --repeat at least 1, --height at least 2")

    with tempfile.TemporaryDirectory(prefix="ladder-bench-") as temp:
        folder = Path(temp)
        try:
            return bench(folder, options)
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1


def bench(folder: Path, options: argparse.Namespace) -> int:
    print(f"bench: generating a {options.seconds:g} s {options.height}p clip", file=sys.stderr)
    source = make_clip(folder, options.seconds, options.height)

    media = FfmpegMedia()
    try:
        probe = media.probe(source)
    except mediatools.MediaToolError as exc:
        raise BenchError(f"ffprobe failed on the clip: {exc}") from None
    accepted = inspect(probe, GateLimits())
    renditions = plan_ladder(accepted.width, accepted.height)
    job = Job(source, accepted, renditions, poster_time(accepted.duration), media.preset)

    timeout = media.encode_timeout
    pipeline = pipeline_variant(job, media)
    a = commands_variant("(a) per-rendition processes", per_rendition_commands, job, timeout)
    b = commands_variant("(b) hand-written single command", CANDIDATES[HAND_WRITTEN].commands, job, timeout)
    variants = [pipeline, a, b]
    if options.candidates:
        variants += [
            commands_variant(f"    candidate: {name}", candidate.commands, job, timeout)
            for name, candidate in CANDIDATES.items()
            if name != HAND_WRITTEN
        ]
    if options.show_commands:
        for variant in variants:
            for args in variant.describe(folder / "out"):
                print(f"{variant.label}:\n  {' '.join(args)}", file=sys.stderr)

    out_dir = folder / "out"
    for round_index in range(options.repeat):
        shift = round_index % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            print(f"bench: round {round_index + 1}/{options.repeat}  {variant.label.strip()}", file=sys.stderr)
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir()
            cpu, busy, started = children_cpu(), machine_busy(), time.perf_counter()
            try:
                files = variant.run(out_dir)
            except BenchError as exc:
                raise BenchError(f"{variant.label.strip()}, round {round_index + 1}: {exc}") from None
            variant.walls.append(time.perf_counter() - started)
            variant.cpus.append(children_cpu() - cpu)
            if busy is not None and (busy_now := machine_busy()) is not None:
                variant.others.append(max(0.0, busy_now - busy - variant.cpus[-1]))
            if not variant.digests:
                variant.digests = check_outputs(job, variant.label, files)
            print(f"bench:   {variant.walls[-1]:.2f} s", file=sys.stderr)

    report(job, probe, variants, a=a, b=b, rounds=options.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
