"""What the benchmarks ask of the machine they run on (Linux): how busy it is, how many cores it has."""

from __future__ import annotations

import os
from pathlib import Path


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
