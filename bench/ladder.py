"""Ladder transcode benchmark: the pipeline's chunk and audio encoders against two baselines.

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
                       frames went into the same encoder settings); "same encoded packets" when only MP4
                       container bytes differ (every packet the same); otherwise only the sizes are known equal.
    pipeline/(a)       below 1 means decoding once in one process pays off; target <= 0.85.
    pipeline/(b)       how close chunk_command + audio_command are to the best hand-written command;
                       target <= 1.05.
    --candidates also times the other hand-written commands that were tried; --show-commands prints them.

Run from the repository root: `.venv/bin/python bench/ladder.py` (or `make bench`). It always exits 0
when everything ran (it is a report, not a test); it exits 1 if an ffmpeg run fails or an output does
not match the plan.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "services" / "transcode"), str(REPO / "shared" / "src"), str(REPO)]

import mediatools  # noqa: E402
from bench.machine import BenchError, children_cpu, machine_busy, run_ffmpeg  # noqa: E402
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
        *("-x264-params", "scenecut=0:open-gop=0", "-forced-idr", "1", "-force_key_frames", keyframes),
        *("-threads", str(job.threads), "-map_metadata", "-1", "-f", "mp4", "-movflags", FRAGMENT_FLAGS),
        *("-movie_timescale", str(job.timescale), "-video_track_timescale", str(job.timescale)),
    ]


def thumbnail_filter(job: Job) -> str:
    width, height = thumbnail_size(job.top.width, job.top.height)
    first = job.thumbnails[0] * job.grid.thumbnail_seconds
    return f"select=gte(t\\,{first}+selected_n*{job.grid.thumbnail_seconds}),scale={width}:{height}"


def thumbnail_options(job: Job) -> list[str]:
    return ["-fps_mode", "passthrough", "-q:v", "5", "-start_number", str(job.thumbnails[0]), "-f", "image2"]


POSTER_OPTIONS = ["-frames:v", "1", "-q:v", "3"]


def audio_filter(job: Job) -> str:
    return f"atrim=end={job.duration},apad=whole_dur={job.duration}"


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
    return [mediatools.binaries()[0], *GLOBAL_ARGS, *args]


# --- (a): one process per output -----------------------------------------------------------------------


def per_output_commands(job: Job, out_dir: Path) -> Commands:
    files = output_files(job, out_dir)
    commands = []
    video = ffmpeg_args("-copyts", *input_args(job), "-map", "0:v:0")
    for r in job.renditions:
        scale = f"scale={r.width}:{r.height},setsar=1"
        commands.append([*video, "-vf", scale, *rung_options(job, r), str(files[r.name])])
    if job.thumbnails:
        pattern = str(out_dir / "thumb-%05d.jpg")
        commands.append([*video, "-vf", thumbnail_filter(job), *thumbnail_options(job), pattern])
    # The poster seeks to its frame instead of decoding up to it: the cheapest way for a separate process.
    poster = ffmpeg_args(*input_args(job, seek=job.poster_at), "-map", "0:v:0")
    commands.append([*poster, "-vf", f"scale={job.top.width}:{job.top.height}", *POSTER_OPTIONS, str(files["poster"])])
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
    parts += [f"[b{i}]scale={r.width}:{r.height},setsar=1[o{i}]" for i, r in enumerate(job.renditions)]
    if job.thumbnails:
        parts.append(f"[bt]{thumbnail_filter(job)}[thumbs]")
    parts.append(f"[bp]{poster_trim(job)},scale={job.top.width}:{job.top.height}[poster]")
    return ";".join(parts)


def cascade_graph(job: Job) -> str:
    """Scale to the top rung once; each lower rung is scaled from the rung above, thumbnails and poster from the top."""
    parts, previous, last = [], "[0:v:0]", len(job.renditions) - 1
    for i, r in enumerate(job.renditions):
        outs = f"[r{i}]" + (("[bt]" if job.thumbnails else "") + "[bp]" if i == 0 else "")
        outs += f"[n{i}]" if i < last else ""
        fanout = outs.count("[")
        parts.append(f"{previous}scale={r.width}:{r.height}" + (f",split={fanout}{outs}" if fanout > 1 else outs))
        parts.append(f"[r{i}]setsar=1[o{i}]")
        previous = f"[n{i}]"
    if job.thumbnails:
        parts.append(f"[bt]{thumbnail_filter(job)}[thumbs]")
    parts.append(f"[bp]{poster_trim(job)}[poster]")
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
        args = ffmpeg_args("-copyts", *self.global_extra, *input_args(job, *self.input_extra))
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
    packets: dict[str, str] = field(default_factory=dict)  # of each MP4: what its packets hash to


def commands_variant(label: str, build: Callable[[Job, Path], Commands], job: Job, timeout: float) -> Variant:
    def run(out_dir: Path) -> dict[str, Path]:
        commands, files = build(job, out_dir)
        for args in commands:
            run_ffmpeg(args, timeout)
        return files

    return Variant(label, run, lambda out_dir: build(job, out_dir)[0])


def pipeline_variant(job: Job, media: FfmpegMedia) -> Variant:
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
        media.encode_audio(source, job.accepted.demuxer, out_dir / "audio.mp4", video_seconds=job.duration)
        return {"audio": out_dir / "audio.mp4"}

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
        return [args] + (audio if job.accepted.has_audio else [])

    return Variant("pipeline (chunk_command + audio_command)", run, describe)


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


def packet_digest(path: Path) -> str:
    """The sha256 of an MP4's packets (ffmpeg's framemd5 of a stream copy): the encoded frames, not the container."""
    args = [mediatools.binaries()[0], *GLOBAL_ARGS, "-i", mediatools.local_input(path), "-map", "0", "-c", "copy"]
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


def same_frames(variant: Variant, reference: Variant) -> bool:
    """The same packets in every MP4 and the same bytes in every image: the same encoder work, like for like."""
    images = {name for name in reference.digests if name not in reference.packets}
    return variant.packets == reference.packets and all(
        variant.digests.get(name) == reference.digests[name] for name in images
    )


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
    thumb_width, thumb_height = thumbnail_size(job.top.width, job.top.height)
    audio_line = "AAC once" if job.accepted.has_audio else "no audio"
    print(f"ladder:   {ladder}; poster {job.top.width}x{job.top.height} at {job.poster_at:g} s;"
          f" {len(job.thumbnails)} thumbnails {thumb_width}x{thumb_height}; {audio_line}")  # fmt: skip
    print(f"chunk:    the whole clip as one chunk ({job.duration:g} s), timescale {job.timescale},"
          f" FFMPEG_THREADS={job.threads}, preset {job.preset}")  # fmt: skip
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
        elif same_frames(variant, reference):
            differ = sorted(name for name, digest in variant.digests.items() if reference.digests.get(name) != digest)
            outputs = f"same encoded packets; container bytes differ: {', '.join(differ)}"
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
        if not same_frames(other, reference):
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
    pipeline = pipeline_variant(job, media)
    a = commands_variant("(a) per-output processes", per_output_commands, job, timeout)
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
                variant.packets = {name: packet_digest(path) for name, path in files.items() if path.suffix == ".mp4"}
            print(f"bench:   {variant.walls[-1]:.2f} s", file=sys.stderr)

    report(job, probe, variants, a=a, b=b, rounds=options.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
