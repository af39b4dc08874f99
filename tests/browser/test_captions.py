"""Captions in Chromium: a clip with subtitle tracks, uploaded through the site, plays with a captions menu.

The MKV has an English and a French SubRip track (neither shown by default). On the watch page the menu
lists "Off" and each track by name; choosing English shows its cue while the video is at that cue's time,
as the browser's own text track (hls.js hands it the cues), at the time the source had it; "Off" hides it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENS, assert_accessible
from tests.browser.test_site import READY_TIMEOUT_MS, sign_in, wait_until
from tests.e2e.conftest import Stack
from tests.media import make_subtitled_clip

pytestmark = pytest.mark.service("web", "transcode")

HELLO = "Hello from the captions"
# the text of the active cue of the track the page shows, or "" (textTracks are the browser's, as people see them)
SHOWN = """(() => {
  const tracks = [...document.querySelector('video').textTracks].filter(t => t.mode === 'showing');
  return tracks.flatMap(t => [...(t.activeCues || [])].map(c => c.text)).join('|');
})()"""


@pytest.fixture(scope="module")
def subtitled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    english = {"cues": [(2.0, 3.5, HELLO)], "language": "eng", "title": "English (SDH)"}
    french = {"cues": [(2.0, 3.5, "Bonjour")], "language": "fre"}
    folder = tmp_path_factory.mktemp("captions")
    return make_subtitled_clip(folder / "harbour tour.mkv", seconds=5, tracks=[english, french])


def seek(page: Page, seconds: float) -> None:
    page.evaluate(f"(() => {{ const v = document.querySelector('video'); v.pause(); v.currentTime = {seconds}; }})()")


def test_captions_are_chosen_from_the_menu_and_shown_at_their_time(page: Page, site: Stack, subtitled: Path) -> None:
    # Given a clip with two subtitle tracks, uploaded and READY
    sign_in(page, site, "browser-cap")
    page.locator("#file-input").set_input_files(subtitled)
    card = page.locator(".card", has_text="harbour tour.mkv")
    expect(card).to_have_attribute("data-status", re.compile("^(READY|FAILED)$"), timeout=READY_TIMEOUT_MS)
    expect(card).to_have_attribute("data-status", "READY", timeout=1)

    # When its page is opened, the captions menu lists Off and each track by name, Off chosen
    card.get_by_role("link").click()
    expect(page.get_by_role("heading", name="harbour tour.mkv")).to_be_visible()
    captions = page.get_by_label("Captions")
    expect(captions.locator("option")).to_have_text(["Off", "English (SDH)", "French"])
    expect(captions).to_have_value("-1")
    page.evaluate("document.querySelector('video').muted = true; document.querySelector('video').play()")
    wait_until(page, "document.querySelector('video').currentTime > 0.2", timeout=20)
    seek(page, 2.5)
    assert page.evaluate(SHOWN) == ""

    # When English is chosen, its cue is shown at 2.5 s, starting where the source has it (2.0 s)
    captions.select_option(label="English (SDH)")
    wait_until(
        page,
        "[...document.querySelector('video').textTracks].some(t => t.mode === 'showing' && t.cues?.length)",
        timeout=20,
    )
    seek(page, 2.6)  # (a seek runs the browser's cue timing again, now that the cues are in)
    wait_until(page, f"{SHOWN} === {HELLO!r}", timeout=10)
    start = page.evaluate(
        """[...document.querySelector('video').textTracks].find(t => t.mode === 'showing').activeCues[0].startTime"""
    )
    assert start == pytest.approx(2.0, abs=0.05)
    page.screenshot(path=str(SCREENS / "watch-captions.png"))
    assert_accessible(page, "the watch page with captions")
    seek(page, 4.2)  # past the cue: nothing shown
    wait_until(page, f"{SHOWN} === ''", timeout=10)

    # And Off hides them again
    seek(page, 2.6)
    wait_until(page, f"{SHOWN} === {HELLO!r}", timeout=10)
    captions.select_option(label="Off")
    wait_until(page, f"{SHOWN} === ''", timeout=10)
    expect(captions).to_have_value("-1")
