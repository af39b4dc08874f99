"""The website in a real browser: Chromium driven by Playwright against the local stack with its site.

Chromium comes from the machine (Debian's `chromium`, or Chrome), or is installed here on first use:
`apt-get install chromium` where that works (Debian, as root), else Playwright's own build
(`python -m playwright install chromium`). Each test gets a fresh browser context (no cookies, no
storage), fails on any console error or uncaught page error, and leaves a screenshot of its page in
.demo/screens/<test>.png for people to look at. `assert_accessible(page)` runs axe-core (the root
package.json's, installed by `npm ci` there) on the page as it is.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Playwright, expect, sync_playwright

from infra import ROOT
from tests.e2e.conftest import Stack

SCREENS = ROOT / ".demo" / "screens"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# what fails a page: axe's serious and critical violations, and a skipped heading level (a "moderate" best practice)
AXE_IMPACTS = {"serious", "critical"}
AXE_ALSO = {"heading-order"}
# As root and without a desktop: no sandbox, no GPU, no calls home (this machine's network is closed)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
_SYSTEM_CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _system_chromium() -> str | None:
    if path := os.environ.get("CHROMIUM_PATH"):
        return path
    return next((found for name in _SYSTEM_CHROMIUMS if (found := shutil.which(name))), None)


def _install_chromium() -> None:
    """Debian's package where apt can install it, else Playwright's own Chromium build."""
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("\n==> installing Chromium for the browser tests (apt-get install chromium)", file=sys.stderr)
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        update = subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, text=True, timeout=600)
        install = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if install.returncode == 0 and _system_chromium():
            return
        print(f"apt-get could not install chromium:\n{update.stderr}{install.stderr}", file=sys.stderr)
    print("\n==> installing Playwright's Chromium (python -m playwright install chromium)", file=sys.stderr)
    done = subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], capture_output=True, text=True)
    if done.returncode:
        pytest.fail(
            "no Chromium for the browser tests: install one (Debian: apt-get install chromium; "
            f"elsewhere: python -m playwright install chromium), or set CHROMIUM_PATH.\n{done.stderr}"
        )


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = _system_chromium()
    if executable is None and not Path(playwright.chromium.executable_path).exists():
        _install_chromium()
        executable = _system_chromium()
    launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def site(shared_stack: Stack) -> Stack:
    """The session's local stack (tests/conftest.py), which serves the website as `make up` does (on free ports)."""
    return shared_stack


class Console:
    """What the page said on its console and what it threw: a test fails on any error."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.leave_prompts = 0  # "leave the page?" (beforeunload): answered yes, not an error
        self.failed: list[str] = []  # answers >= 400, to tell which resource a console error is about
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.failed.append(f"{response.request.method} {response.url.split('?')[0]} -> {response.status}")
            ),
        )
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Dialog) -> None:
        if dialog.type == "beforeunload":
            self.leave_prompts += 1
            dialog.accept()
            return
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    created = browser.new_context(viewport={"width": 1280, "height": 800})
    created.set_default_timeout(15_000)
    expect.set_options(timeout=15_000)  # assertions wait as long as actions: make test runs beside other tests
    yield created
    created.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    opened = context.new_page()
    console = Console(opened)
    opened.console = console  # type: ignore[attr-defined]
    yield opened
    SCREENS.mkdir(parents=True, exist_ok=True)
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    opened.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
    assert not console.errors, f"console errors: {console.errors}; failed answers: {console.failed}"
    assert not console.dialogs, f"the page opened dialogs (script ran?): {console.dialogs}"


@functools.cache
def _axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE.relative_to(ROOT)} is missing: run `npm ci` at the repository root (make test does)")
    return AXE.read_text() + "\n;0"  # (0: the script's value, rather than whatever its last statement gives)


def assert_accessible(page: Page, where: str = "") -> None:
    """axe-core on the page as it is now: no violation of impact serious or critical, nor a skipped heading level.
    Injected by evaluation: the site's CSP refuses inline scripts (add_script_tag), DevTools' evaluation is not a
    page script."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    violations = page.evaluate(
        """axe.run(document, { resultTypes: ['violations'] }).then(results => results.violations.map(v => ({
             id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) })))"""
    )
    failing = [v for v in violations if v["impact"] in AXE_IMPACTS or v["id"] in AXE_ALSO]
    report = "\n".join(f"  {v['id']} ({v['impact']}): {v['help']}; at {', '.join(v['nodes'])}" for v in failing)
    assert not failing, f"axe-core found on {where or page.url}:\n{report}"
