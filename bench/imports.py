"""Cold-import time of each HTTP handler module, against `import boto3`, in one run.

Each measurement is a fresh interpreter (`python -c "import X"`) timed from outside,
minus an empty interpreter's start, repeated (--repeat, default 7) in interleaved
order; the median is reported with its ratio to boto3. The aim for the authorizer,
which runs before every API call: <= 0.6 x boto3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATHS = [REPO / "services" / name for name in ("auth", "upload", "metadata", "transcode")]
PATHS += [REPO / "shared" / "src", REPO]  # this checkout's shared package, whatever the venv has installed
MODULES = [
    "boto3",
    "identity.handlers.authorizer",
    "identity.handlers.me",
    "intake.handlers.create_upload",
    "catalog.handlers.get_video",
]
AIM = {"identity.handlers.authorizer": 0.6}


def run(code: str) -> float:
    env = os.environ | {"PYTHONPATH": os.pathsep.join(map(str, PATHS))}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    for module in MODULES:  # warm the file cache (and compile .pyc) so every round reads the same way
        run(f"import {module}")
    samples: dict[str, list[float]] = {m: [] for m in ["(empty)", *MODULES]}
    for round_index in range(options.repeat):
        print(f"imports: round {round_index + 1}/{options.repeat}", file=sys.stderr)
        for name in samples:
            samples[name].append(run("pass" if name == "(empty)" else f"import {name}"))
    empty = statistics.median(samples.pop("(empty)"))
    cost = {m: max(0.0, statistics.median(s) - empty) for m, s in samples.items()}
    print(f"python {sys.version.split()[0]}, median of {options.repeat} fresh interpreters, start-up "
          f"({empty * 1000:.0f} ms) subtracted")  # fmt: skip
    print(f"{'module':<34}{'import ms':>10}{'x boto3':>9}")
    for module, seconds in cost.items():
        ratio = seconds / cost["boto3"] if cost["boto3"] else float("nan")
        aim = f"   (aim <= {AIM[module]}: {'met' if ratio <= AIM[module] else 'NOT met'})" if module in AIM else ""
        print(f"{module:<34}{seconds * 1000:>10.0f}{ratio:>9.2f}{aim}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
