"""What the benchmarks ask of the machine they run on (Linux): how busy it is, how many cores it has,
ffmpeg runs with the CPU time they took, and the local stack in a process of its own."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 180  # seconds for the stack to come up on a busy machine


class BenchError(Exception):
    """A run the benchmark needs failed (the stack, a transcode, an ffmpeg), or an output is not as planned."""


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class FfmpegFailed(BenchError):
    """An ffmpeg run exited non-zero (negative `returncode`: killed by that signal); `stderr`: all its error output."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        tail = stderr.strip()[-800:] or "no error output"
        super().__init__(f"ffmpeg exited with {returncode}: {tail}\ncommand: {' '.join(args)}")
        self.command = args
        self.returncode = returncode
        self.stderr = stderr


def run_ffmpeg(args: list[str], timeout: float) -> float:
    """Run one ffmpeg; its user+sys CPU seconds."""
    before = children_cpu()
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"ffmpeg did not finish within {timeout:.0f}s: {' '.join(args)}") from None
    if done.returncode != 0:
        raise FfmpegFailed(args, done.returncode, done.stderr.decode("utf-8", "replace"))
    return children_cpu() - before


def machine_busy() -> float | None:
    """CPU seconds the whole machine has spent busy (or stolen by the hypervisor) since boot; Linux only."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def stack_env() -> dict[str, str]:
    """This checkout's code first, whatever the virtual environment has installed."""
    paths = [str(REPO), str(REPO / "shared" / "src")] + [p for p in os.environ.get("PYTHONPATH", "").split(":") if p]
    return os.environ | {"PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(paths)}


@contextmanager
def local_stack(folder: Path, *options: str) -> Iterator[dict[str, Any]]:
    """`python -m devstack up` on free ports with these options until the block ends; yields its ready file."""
    ready_file, output = folder / "ready.json", folder / "stack.out"
    command = [sys.executable, "-m", "devstack", "up", "--port", "0", "--api-port", "0", "--ws-port", "0"]
    command += ["--log-dir", str(folder / "logs"), "--ready-file", str(ready_file), *options]
    with output.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=stack_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: its functions' processes stop with it
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(output.read_text(errors="replace").splitlines()[-30:])
                raise BenchError(f"the local stack did not come up ({output}):\n{tail}")
            time.sleep(0.1)
        yield json.loads(ready_file.read_text())
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the stack stops its workers and moto
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
