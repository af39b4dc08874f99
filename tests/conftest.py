"""Fixtures shared by every test layer (short clips made with the bundled ffmpeg), and `--service`.

Every test module says which services it is about with `pytestmark = pytest.mark.service(...)`:
a service's name (upload, transcode, metadata, auth, notify), `shared` for the package every service ships
(contracts, lambdakit, mediatools), or `tools` for the local stack, replay and the build tools.
`pytest --service upload` (`make test SERVICE=upload`) runs that service's tests, the shared
package's and every contract test (tests/contracts), so a team can work on its service alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import make_clip

SERVICES = ("upload", "transcode", "metadata", "auth", "notify", "web")
SUBJECTS = (*SERVICES, "shared", "tools")
ALWAYS = ("contracts", "infra")  # folders under tests/ whose modules belong to every team


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--service", choices=SERVICES, help="only this service's tests, the shared package's and the contract tests"
    )


def _subjects(item: pytest.Item) -> set[str]:
    return {name for mark in item.iter_markers("service") for name in mark.args}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    unmarked, unknown = set(), set()
    for item in items:
        folder = item.path.relative_to(root).parts[0]
        if folder not in ALWAYS and not _subjects(item):
            unmarked.add(item.path.relative_to(root.parent))
        unknown |= _subjects(item) - set(SUBJECTS)
    if unmarked or unknown:
        raise pytest.UsageError(
            f"test modules without pytestmark = pytest.mark.service(...): {sorted(map(str, unmarked))}; "
            f"unknown subjects: {sorted(unknown)} (known: {', '.join(SUBJECTS)})"
        )
    service = config.getoption("--service")
    if not service:
        return
    wanted = {service, "shared"}
    kept, dropped = [], []
    for item in items:
        in_always = item.path.relative_to(root).parts[0] in ALWAYS
        (kept if in_always or _subjects(item) & wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def small_clip(clips: Path) -> Path:
    """2 s, 640x360, with audio: the cheapest clip that gives a real 360p rendition."""
    return make_clip(clips / "small.mp4", width=640, height=360, seconds=2)


@pytest.fixture(scope="session")
def hd_clip(clips: Path) -> Path:
    """2 s of 1280x720 with audio: gives the 720p and 480p rungs."""
    return make_clip(clips / "hd.mp4", width=1280, height=720, seconds=2)
