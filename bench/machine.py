"""What the benchmarks ask of the machine they run on (Linux): how busy it is, how many cores it has, and
ffmpeg runs with the CPU time they took."""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path


class BenchError(Exception):
    """A run the benchmark needs failed (the stack, a transcode, an ffmpeg), or an output is not as planned."""


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ffmpeg(args: list[str], timeout: float) -> float:
    """Run one ffmpeg; its user+sys CPU seconds."""
    before = children_cpu()
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"ffmpeg did not finish within {timeout:.0f}s: {' '.join(args)}") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip()[-800:] or "no error output"
        raise BenchError(f"ffmpeg exited with {done.returncode}: {tail}\ncommand: {' '.join(args)}")
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
