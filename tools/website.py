"""Build the website (services/web) into services/web/dist: `python -m tools.website [--check]`.

`npm ci` in services/web when its node_modules is missing or older than its lock (the packages are
pinned there: TypeScript, esbuild, hls.js, oidc-client-ts), then `npm run build` (tsc type-checks,
esbuild bundles the app with its libraries into content-hashed files, index.html names them).
`--check` only type-checks. config.json is not built: the deploy or the local stack writes it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parents[1] / "services" / "web"


class BuildFailed(RuntimeError):
    pass


def install(web_dir: Path = WEB_DIR, *, say: Callable[[str], None] = print) -> str:
    """npm, with the website's packages installed (npm ci when node_modules is missing or stale)."""
    npm = shutil.which("npm")
    if npm is None:
        raise BuildFailed("the website needs Node.js (with npm) on PATH to build: https://nodejs.org/")
    stamp = web_dir / "node_modules" / ".installed"
    lock = web_dir / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        say("==> installing the website's npm packages in services/web (first run: a few seconds)")
        _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], web_dir)
        stamp.touch()
    return npm


def build(web_dir: Path = WEB_DIR, *, say: Callable[[str], None] = print) -> Path:
    """dist/ from the sources; raises BuildFailed with the compiler's output on a type or bundling error."""
    _run([install(web_dir, say=say), "run", "--silent", "build"], web_dir)
    return web_dir / "dist"


def check(web_dir: Path = WEB_DIR, *, say: Callable[[str], None] = print) -> None:
    _run([install(web_dir, say=say), "run", "--silent", "check"], web_dir)


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise BuildFailed(
            f"`{Path(command[0]).name} {' '.join(command[1:])}` failed in {cwd}:\n{done.stdout}{done.stderr}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.website", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="type-check only (tsc), build nothing")
    args = parser.parse_args(argv)
    try:
        if args.check:
            check()
            print("website: types check")
        else:
            print(f"website built: {build()}")
    except BuildFailed as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
