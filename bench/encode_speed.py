"""Encode speed: CPU seconds per second of source of the workflow's chunk and audio commands, for the limits test.

What it measures
    One generated 1080p30 source (lavfi testsrc2 + sine, H.264/AAC, 16:9; the one bench/scale.py makes, cached
    in .demo/bench/), CHUNK_SECONDS and a little longer, so that its first chunk is a whole one. Through the
    service's own commands, built with the settings of the prod stage's mediaTasks function (FFMPEG_THREADS,
    FFMPEG_PRESET, CHUNK_SECONDS, from services/transcode/serverless.yml):

    ladder   `chunk_command` for the first chunk as the workflow plans it: every rung of the ladder from one
             decode, the thumbnails and the poster (chunk 0 takes it).
    audio    `audio_command` over the whole source, with the AAC coder the workflow uses (ffmpeg's default
             two-loop search, whatever the length; CODERS lists the ones to measure),
             and again over one second: the difference is the cost per source second, the one-second run the
             start-up cost (demuxer, encoder set-up), which a long source pays once. On two sounds, the tone
             and pink noise (the same video, copied): the coders' costs depend on the sound, in opposite
             directions, so each coder's figure is the dearer of the two.

    Each is the ffmpeg child's user+sys time (getrusage RUSAGE_CHILDREN), the median of --repeat runs.

Output
    bench/measured/encode-speed.json: the figures with the ffmpeg build and the imageio-ffmpeg wheel that made
    them, the machine, the date, the settings and the commands. tests/unit/test_lambda_limits.py computes the
    Lambda limits from it and fails when the bundled ffmpeg or the settings are no longer the recorded ones:
    then run `make bench-limits` again (about five minutes on 2 cores) and commit the file. Measure on a quiet
    machine: the file records how busy the rest of the machine was (others, from /proc/stat).

Run from the repository root: `.venv/bin/python bench/encode_speed.py` (or `make bench-limits`).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "shared" / "src"), str(REPO / "services" / "transcode")]

import mediatools  # noqa: E402
from bench.machine import BenchError, children_cpu, cores, machine_busy, run_ffmpeg  # noqa: E402
from bench.scale import cached_source  # noqa: E402
from infra import load  # noqa: E402
from transcode.adapters.media import FfmpegMedia, SourceInput, audio_command, chunk_command  # noqa: E402
from transcode.logic.chunking import Grid, plan_chunks, timescale  # noqa: E402
from transcode.logic.gate import GateLimits, inspect  # noqa: E402
from transcode.logic.ladder import plan_ladder, poster_time  # noqa: E402
from transcode.logic.ports import SourceRef  # noqa: E402
from transcode.settings import TranscodeSettings  # noqa: E402

OUTPUT = REPO / "bench" / "measured" / "encode-speed.json"
CACHE = REPO / ".demo" / "bench"
MEDIA_TASKS = "transcode-mediaTasks"
STAGE = "prod"
HEIGHT = 1080
FPS = 30
EXTRA_SECONDS = 6  # beyond one chunk: the first chunk is then a whole one, not the last (which reads to the end)
GLOBAL_ARGS = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def say(message: str) -> None:
    print(f"encode-speed: {message}", file=sys.stderr, flush=True)


def engine() -> dict[str, str]:
    """The bundled ffmpeg: its build (from `ffmpeg -version`), its binary's name and the wheel it comes in."""
    first = subprocess.run([mediatools.ffmpeg(), "-version"], capture_output=True, text=True, check=True, timeout=30)
    words = first.stdout.split()
    if words[:2] != ["ffmpeg", "version"]:
        raise BenchError(f"unexpected `ffmpeg -version` output: {first.stdout[:200]!r}")
    return {
        "version": words[2],
        "binary": Path(mediatools.ffmpeg()).name,
        "wheel": f"imageio-ffmpeg {importlib.metadata.version('imageio-ffmpeg')}",
    }


def workflow_settings() -> TranscodeSettings:
    """The mediaTasks function's settings in the prod stage, as its Lambda reads them."""
    [function] = [f for f in load(STAGE).functions if f.key == MEDIA_TASKS]
    return TranscodeSettings({k: v for k, v in function.environment.items() if isinstance(v, str)})


def source_of(seconds: int) -> Path:
    """bench/scale.py's generated source (the same command, the same cache file), made once per length."""
    return cached_source(seconds, HEIGHT)


def with_noise(source: Path) -> Path:
    """The source's video (copied) with pink noise for its sound: AAC's coders cost differently on a tone and on a
    full spectrum (ffmpeg 9's fast coder is twice as slow as the two-loop search on a tone), and real sound is
    somewhere in between."""
    path = source.with_name(f"{source.stem}-pinknoise.mp4")
    if path.is_file():
        return path
    say(f"making {path.name} (once): the video copied, pink noise for the sound")
    with tempfile.NamedTemporaryFile(dir=CACHE, suffix=".partial.mp4", delete=False) as partial:
        pass
    args = [mediatools.ffmpeg(), *GLOBAL_ARGS, "-i", str(source)]
    args += ["-f", "lavfi", "-i", "anoisesrc=color=pink:sample_rate=48000:amplitude=0.3"]
    args += ["-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest"]
    try:
        run_ffmpeg([*args, partial.name], timeout=600)
        Path(partial.name).replace(path)
    finally:
        Path(partial.name).unlink(missing_ok=True)
    return path


CODERS = ("twoloop",)  # audio_command's (the fast coder was dropped: its worst case, a tone, is the dearer)


def with_coder(args: list[str], coder: str) -> list[str]:
    """audio_command's arguments with this AAC coder (it picks one by the source's length)."""
    if "-aac_coder" not in args:
        raise BenchError("audio_command no longer sets -aac_coder: update this benchmark")
    at = args.index("-aac_coder") + 1
    return [*args[:at], coder, *args[at + 1 :]]


def shown(args: list[str], source: Path, out: Path) -> list[str]:
    """A command as recorded: no machine's paths in it."""
    names = {mediatools.ffmpeg(): "ffmpeg", mediatools.local_input(source): "file:SOURCE", str(source): "SOURCE"}
    return [names.get(arg, arg.replace(str(out), "OUT")) for arg in args]


def median_cpu(label: str, repeat: int, run: Callable[[Path], float]) -> tuple[float, list[float]]:
    runs = []
    for round_ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="encode-speed-") as out:
            runs.append(run(Path(out)))
        say(f"  {label} {round_ + 1}/{repeat}: {runs[-1]:.2f} CPU-s")
    return statistics.median(runs), runs


def measure(repeat: int) -> dict[str, Any]:
    settings = workflow_settings()
    grid = Grid(chunk_seconds=settings.chunk_seconds)
    seconds = settings.chunk_seconds + EXTRA_SECONDS
    source = source_of(seconds)
    media = FfmpegMedia(preset=settings.ffmpeg_preset, threads=settings.ffmpeg_threads)
    probe = media.probe(SourceRef(mediatools.local_input(source)))
    accepted = inspect(probe, GateLimits())
    renditions = plan_ladder(accepted.width, accepted.height)
    chunk = plan_chunks(accepted.video_seconds, grid)[0]
    chunk_length = chunk.end_seconds - chunk.start_seconds
    inputs = SourceInput(mediatools.local_input(source), accepted.demuxer)
    scale = timescale(probe.video.time_base if probe.video else None)
    commands: dict[str, list[str]] = {}

    def ladder(out: Path) -> float:
        args, _ = chunk_command(
            inputs, chunk, renditions, grid, scale, out, poster_at=poster_time(accepted.video_seconds),
            picture=accepted.picture, last=False, preset=media.preset, threads=media.threads,
        )  # fmt: skip
        commands.setdefault("ladder", shown(args, source, out))
        return run_ffmpeg(args, media.encode_timeout)

    sounds = {"tone": source, "pink noise": with_noise(source)}

    def audio(sound: str, coder: str, length: float) -> Callable[[Path], float]:
        def run(out: Path) -> float:
            given = SourceInput(mediatools.local_input(sounds[sound]), accepted.demuxer)
            args = with_coder(audio_command(given, out / "audio.mp4", video_seconds=length), coder)
            commands.setdefault(f"audio ({coder})", shown(args, sounds[sound], out))
            return run_ffmpeg(args, media.encode_timeout)

        return run

    cpu, busy, began = children_cpu(), machine_busy(), time.monotonic()
    load_before = os.getloadavg()
    say(f"ladder: chunk 0 ({chunk_length:g} s) in {', '.join(r.name for r in renditions)}, {repeat} runs")
    ladder_cpu, ladder_runs = median_cpu("ladder", repeat, ladder)
    audio_figures: dict[str, dict[str, dict[str, Any]]] = {}
    for coder in CODERS:
        for sound in sounds:
            say(f"audio ({coder}, {sound}): the whole {accepted.video_seconds:g} s and one second, {repeat} runs each")
            whole, whole_runs = median_cpu(f"{coder} whole", repeat, audio(sound, coder, accepted.video_seconds))
            start, start_runs = median_cpu(f"{coder} 1 s", repeat, audio(sound, coder, 1.0))
            audio_figures.setdefault(coder, {})[sound] = {
                "per_source_second": round((whole - start) / (accepted.video_seconds - 1.0), 5),
                "startup_cpu_seconds": round(start, 3),
                "runs_whole": [round(r, 3) for r in whole_runs],
                "runs_one_second": [round(r, 3) for r in start_runs],
            }
    wall = time.monotonic() - began
    others = None
    if busy is not None and (busy_now := machine_busy()) is not None:
        others = round(max(0.0, busy_now - busy - (children_cpu() - cpu)) / (wall * cores()), 3)
    return {
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "ffmpeg": engine(),
        "machine": {
            "cores": cores(),
            "cpu": cpu_model(),
            "platform": platform.platform(),
            "load_average_before": [round(x, 2) for x in load_before],
            "others": others,  # share of the machine's CPU used by other processes meanwhile: ~0 on a quiet one
        },
        "source": {
            "height": HEIGHT,
            "fps": FPS,
            "seconds": accepted.video_seconds,
            "pattern": "testsrc2; a 440 Hz tone (the ladder's, and the audio's), pink noise (the audio's too)",
        },
        "settings": {
            "stage": STAGE,
            "ffmpeg_threads": settings.ffmpeg_threads,
            "ffmpeg_preset": settings.ffmpeg_preset,
            "chunk_seconds": settings.chunk_seconds,
            "renditions": [f"{r.name} {r.width}x{r.height}" for r in renditions],
        },
        "repeat": repeat,
        "cpu_seconds_per_source_second": {
            "ladder": round(ladder_cpu / chunk_length, 5),
            # each coder's dearer sound of the two
            "audio": {coder: worst(by_sound, "per_source_second") for coder, by_sound in audio_figures.items()},
        },
        "audio_startup_cpu_seconds": {
            coder: worst(by_sound, "startup_cpu_seconds") for coder, by_sound in audio_figures.items()
        },
        "runs": {"ladder_cpu_seconds": [round(r, 3) for r in ladder_runs], "ladder_source_seconds": chunk_length},
        "audio_by_sound": audio_figures,
        "commands": commands,
    }


def worst(by_sound: dict[str, dict[str, Any]], figure: str) -> float:
    return max(float(figures[figure]) for figures in by_sound.values())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the median is kept (default 3)")
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help=f"where to write (default {OUTPUT.relative_to(REPO)})"
    )
    options = parser.parse_args()
    if options.repeat < 1:
        parser.error("--repeat at least 1")
    try:
        record = measure(options.repeat)
    except (BenchError, mediatools.MediaToolError) as exc:
        print(f"encode-speed: {exc}", file=sys.stderr)
        return 1
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(record, indent=2) + "\n")
    figures = record["cpu_seconds_per_source_second"]
    print(f"ffmpeg {record['ffmpeg']['version']} on {record['machine']['cores']} cores ({record['machine']['cpu']}),"
          f" FFMPEG_THREADS={record['settings']['ffmpeg_threads']}: CPU-s per source second")  # fmt: skip
    print(f"  ladder (every rung of a chunk) {figures['ladder']:.3f}  ({figures['ladder'] * 60:.1f} per source minute)")
    for coder, value in figures["audio"].items():
        startup = record["audio_startup_cpu_seconds"][coder]
        print(f"  audio, AAC {coder:<8}          {value:.4f}  (+ {startup:.2f} CPU-s start-up)")
    others = record["machine"]["others"]
    if others is not None and others > 0.05:
        print(f"WARNING: other processes used {others:.0%} of the CPUs meanwhile: measure on a quiet machine")
    print(f"written to {options.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
