"""The README names only `make` targets, repository paths and `python -m` modules that exist.

What is read: the README's code, that is its fenced blocks and its inline code spans (a span may wrap
lines); prose is not read.

- **`make` targets**: in code, `make` followed by words (`make layer vendor web`, stopping at an option
  `NAME=value`, `&&`, a comment): each word must be a target of the Makefile that has a `## help` text,
  the ones `make help` lists.
- **Paths**: each word of an inline code span (stripped of quotes and brackets) that looks like a
  repository path: it contains `/` and its first folder is one of the repository's top-level entries
  (`tools/layer.py`, `shared/contracts`), or it names a source file (`.py`, `.yml`, `.ts`, `.lock`, …:
  `logic/picture.py`, `deps.py`). It must exist relative to the repository root or, for the README's
  short forms, to a service's folder, a service's package, `tests/` or `shared/src/`. Not paths:
  URLs, absolute paths (HTTP routes `/videos/{id}`, log groups, SSM names), anything with a
  placeholder (`<stage>`, `{video_id}`, `…`, `$`, `=`, an ALL-CAPS word such as `ORIGIN/callback`),
  S3 keys and MIME types (their first folder, `videos/`, `text/`, is not in the repository), media
  files (`720p/index.m3u8`). A glob (`services/*/requirements.txt`) must match something.
  Generated output (`.build/`, `.venv/`, `node_modules/`, `.demo/`, `services/web/dist`, `.layers`,
  `.serverless`) is not in a fresh clone: instead the `make` target that makes it must exist.
- **Modules**: `python -m a.b` must be a module or package of the repository (at the root or in
  `shared/src/`) when `a` is one of its packages; others (`playwright`, `pip`) are not checked.

`test_the_matchers_catch_made_up_names` runs the same matchers on a small made-up README.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.service("tools")

ROOT = Path(__file__).resolve().parents[2]

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"(`+)(?!`)((?:(?!\n\s*\n).)+?)(?<!`)\1(?!`)", re.S)
MAKE = re.compile(r"(?<![\w./-])make((?:\s+[a-z][a-z0-9-]*(?![\w=-]))+)")
PYTHON_M = re.compile(r"(?<![\w./-])python3?\s+-m\s+([A-Za-z_][\w.]*)")
MAKE_TARGET = re.compile(r"^([a-z][a-z0-9-]*):[^=].*##", re.M)

SOURCE_SUFFIXES = {".py", ".pyi", ".yml", ".yaml", ".toml", ".txt", ".lock", ".md", ".ts", ".mjs", ".sh", ".cfg"}
PLACEHOLDER = re.compile(r"[<>{}$=*?…]|\.\.\.|://|^[A-Z][A-Z0-9_]+$")
ALL_CAPS = re.compile(r"^[A-Z][A-Z0-9_]+$")
# generated output, by the path component that names it, and the make target that makes it
GENERATED = {
    ".venv": "venv",
    "node_modules": "package",
    ".build": "vendor",
    ".demo": "demo",
    "dist": "web",
    ".layers": "layer",
    ".serverless": "package",
}


def code_of(markdown: str) -> tuple[list[str], list[str]]:
    """The README's fenced blocks and its inline code spans (outside the blocks)."""
    blocks = FENCE.findall(markdown)
    prose = FENCE.sub("", markdown)
    spans = [" ".join(match.group(2).split()) for match in SPAN.finditer(prose)]
    return blocks, spans


def make_targets(code: list[str]) -> set[str]:
    return {target for text in code for match in MAKE.finditer(text) for target in match.group(1).split()}


def defined_targets(makefile: str) -> set[str]:
    return set(MAKE_TARGET.findall(makefile))


def _words(span: str) -> list[str]:
    """The span's words without the quotes, brackets and punctuation around them (a leading `.` is kept)."""
    return [word.lstrip("\"'([").rstrip("\"'()[],;:" + ("" if word.endswith("/") else ".")) for word in span.split()]


def _generated_by(parts: tuple[str, ...]) -> str | None:
    for part in parts:
        if part in GENERATED:
            return GENERATED[part]
    return None


def repo_paths(spans: list[str], root: Path) -> set[str]:
    """The words of inline code that look like paths of this repository (see the module's docstring)."""
    top = {entry.name for entry in root.iterdir() if entry.name != ".git" and not entry.name.endswith("_cache")}
    top |= set(GENERATED)
    found = set()
    for span in spans:
        for word in _words(span):
            if not word or "://" in word or word.startswith(("/", "-", "..", "~")):
                continue
            parts = tuple(part for part in word.split("/") if part)
            if not parts or any(PLACEHOLDER.search(part) and "*" not in part for part in parts):
                continue
            if any(ALL_CAPS.match(part) for part in parts):
                continue
            looks_like_source = Path(parts[-1]).suffix in SOURCE_SUFFIXES and not word.endswith("/")
            if ("/" in word and parts[0] in top) or looks_like_source:
                found.add(word)
    return found


def _bases(root: Path) -> list[Path]:
    services = [path for path in sorted((root / "services").iterdir()) if path.is_dir()]
    packages = [path for service in services for path in sorted(service.iterdir()) if (path / "__init__.py").exists()]
    return [root, *services, *packages, root / "tests", root / "shared" / "src"]


def missing_paths(paths: set[str], root: Path, targets: set[str]) -> set[str]:
    """The paths that exist nowhere they may be meant, and the generated ones whose maker is gone."""
    bases = _bases(root)
    missing = set()
    for path in paths:
        parts = tuple(part for part in path.split("/") if part)
        maker = _generated_by(parts)
        if maker is not None:
            if maker not in targets:
                missing.add(path)
            continue
        pattern = "/".join(parts)
        if "*" in pattern:
            if not any(next(base.glob(pattern), None) for base in bases):
                missing.add(path)
        elif not any((base / pattern).exists() for base in bases):
            missing.add(path)
    return missing


def missing_modules(code: list[str], root: Path) -> set[str]:
    homes = [root, root / "shared" / "src"]
    missing = set()
    for text in code:
        for module in PYTHON_M.findall(text):
            relative = Path(*module.split("."))
            if not any((home / relative.parts[0]).exists() for home in homes):
                continue  # not one of ours
            candidates = [relative.with_suffix(".py"), relative / "__main__.py", relative / "__init__.py"]
            if not any((home / candidate).exists() for home in homes for candidate in candidates):
                missing.add(module)
    return missing


def problems(markdown: str, makefile: str, root: Path) -> dict[str, set[str]]:
    blocks, spans = code_of(markdown)
    targets = defined_targets(makefile)
    return {
        "make targets": make_targets(blocks + spans) - targets,
        "paths": missing_paths(repo_paths(spans, root), root, targets),
        "modules": missing_modules(blocks + spans, root),
    }


def test_the_readme_names_only_what_exists():
    found = problems((ROOT / "README.md").read_text(), (ROOT / "Makefile").read_text(), ROOT)
    assert found == {"make targets": set(), "paths": set(), "modules": set()}


def test_the_readme_is_read_at_all():
    """The matchers see the README's commands and paths (a matcher that finds nothing passes too easily)."""
    blocks, spans = code_of((ROOT / "README.md").read_text())
    assert {"demo", "test", "up", "replay", "layer", "vendor"} <= make_targets(blocks + spans)
    assert {"shared/openapi.json", "tools/lambda-platform.yml"} <= repo_paths(spans, ROOT)


FAKE_README = """\
# Fake

```bash
make demo        # fine
make no-such-target FILE=x
```

Run `make test SERVICE=upload`, `make layer vendor web && npx osls-compose deploy`, or `make
imaginary`; `make` alone names nothing. Plain make words in prose are not code: make sense.

Real: `tools/layer.py`, `shared/src/contracts`, `services/transcode/`, `logic/picture.py`,
`deps.py`, `services/*/requirements.txt`, `cd services/<name> && npx serverless deploy`.
Made up: `shared/contracts`, `tools/no_such_tool.py`, `no_such_module.py`, `services/*/no-such.txt`.
Generated: `.build/vendor`, `.demo/logs/<function>.log`, `services/web/dist`, `.venv`.
Not paths: `https://example.com/a/b.py`, `/videos/{id}`, `uploads/{owner}/{video_id}/{filename}`,
`videos/*`, `text/vtt`, `aws/ssm`, `720p/index.m3u8`, `ORIGIN/callback`, `FILE=path/to/video.mov`,
`/aws/lambda/<function name>`, `video24-<service>-<stage>-alarms`, `../`.
Modules: `python -m tools.layer ffmpeg`, `python -m devstack up`, `python -m playwright install`,
`python -m tools.no_such_tool`.
"""

FAKE_MAKEFILE = """\
demo: $(STAMP) ## run the demo
test: $(STAMP) ## the tests
layer: ## the layer
vendor: ## the wheel
web: ## the site
venv: ## the venv
package: ## package
helper:
FILE ?=
"""


def test_the_matchers_catch_made_up_names():
    found = problems(FAKE_README, FAKE_MAKEFILE, ROOT)
    assert found == {
        "make targets": {"no-such-target", "imaginary"},
        "paths": {"shared/contracts", "tools/no_such_tool.py", "no_such_module.py", "services/*/no-such.txt"},
        "modules": {"tools.no_such_tool"},
    }
    # a target without a `## help` text is not one the README may name; a generated path needs its maker
    without_demo = FAKE_MAKEFILE.replace("demo: $(STAMP) ## run the demo\n", "")
    assert "demo" in problems(FAKE_README, without_demo, ROOT)["make targets"]
    assert ".build/vendor" in problems(FAKE_README, FAKE_MAKEFILE.replace("vendor:", "wheel:"), ROOT)["paths"]
