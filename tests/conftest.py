"""Fixtures shared by every test layer (short clips made with the bundled ffmpeg), and `--service`.

Every test module says which services it is about with `pytestmark = pytest.mark.service(...)`:
a service's name (upload, transcode, metadata, auth, notify), `shared` for the package every service ships
(contracts, lambdakit, mediatools), or `tools` for the local stack, replay and the build tools.
`pytest --service upload` (`make test SERVICE=upload`) runs that service's tests, the shared
package's and every contract test (tests/contracts), so a team can work on its service alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.media import make_clip

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

SERVICES = ("upload", "transcode", "metadata", "auth", "notify", "web")
SUBJECTS = (*SERVICES, "shared", "tools")
ALWAYS = ("contracts", "infra")  # folders under tests/ whose modules belong to every team


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--service", choices=SERVICES, help="only this service's tests, the shared package's and the contract tests"
    )
    parser.addoption(
        "--deployment",
        metavar="FILE",
        help="the smoke tests (-m smoke) against this deployment description (make smoke), not the local stack",
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
    _schedule(items)
    if config.getoption("--deployment"):  # a deployed stage: the smoke tests only, nothing local
        elsewhere = [item for item in items if not item.get_closest_marker("smoke")]
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if item.get_closest_marker("smoke")]
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


# Under pytest-xdist (make test: -n auto --dist loadscope --no-loadscope-reorder), tests run in groups, a group on
# one worker: the shared stack's tests (every e2e and browser module but those with a stack of their own) first,
# the longest; then the modules with a stack of their own; then the rest, largest group first. A few integration
# modules are split by test function (SPLIT: a worker that runs some of one makes its module fixtures, a moto server,
# once); any other module is one group. (pytest-xdist 3.8's own groups, --dist loadgroup, do not work on pytest 9: they
# rename each test, which pytest 9 no longer lets a plugin do; so the scheduler is given the groups here.)
SHARED_STACK = "shared-stack"
OWN_STACK = ("tests/e2e/test_long_video.py", "tests/e2e/test_websocket_stack.py")  # each says why in its fixture
# the integration modules of many slow cases, split by test function (each part makes its own moto server)
SLOW = ("test_fault_injection", "test_hostile_corpus", "test_workflow_faults", "test_transcode_handler")
SPLIT = tuple(f"tests/integration/{name}.py" for name in SLOW)


def group_of(nodeid: str) -> str:
    module, _, test = nodeid.partition("::")
    if module.startswith(("tests/e2e/", "tests/browser/")) and module not in OWN_STACK:
        return SHARED_STACK
    if module in SPLIT:
        return f"{module}::{test.split('[')[0]}"
    return module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class Grouped(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return Grouped(config, log)


def _schedule(items: list[pytest.Item]) -> None:
    groups = {item.nodeid: group_of(item.nodeid) for item in items}
    sizes = Counter(groups.values())

    def order(item: pytest.Item) -> tuple[int, int]:
        group = groups[item.nodeid]
        if group == SHARED_STACK:
            return (0, 0)
        return (1 if group in OWN_STACK else 2, -sizes[group])

    items.sort(key=order)  # stable: each group's tests keep their order


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


@pytest.fixture(scope="session")
def big_clip(clips: Path) -> Path:
    """About 2 MB (3 s of 720p at 6 Mb/s), over the shared stack's 1 MiB multipart threshold."""
    bitrate = ("-b:v", "6M", "-maxrate", "6M", "-bufsize", "12M")
    return make_clip(clips / "Harbour at dawn.mp4", width=1280, height=720, seconds=3, extra=bitrate)


@pytest.fixture(scope="session")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One local stack with the website for the session: every e2e and browser test that can share it."""
    from tests.e2e.conftest import SHARED_CONCURRENCY, SHARED_PARAMS, local_stack

    folder = tmp_path_factory.mktemp("shared-stack")
    with local_stack(folder, SHARED_PARAMS, SHARED_CONCURRENCY, site=True) as running:
        assert running.web, "the local stack did not serve the website"
        yield running
