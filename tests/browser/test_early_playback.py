"""Watching a video while it is still encoded, in Chromium against the local stack (issue 22).

A 30 s clip of two rungs (the stack encodes 6 s chunks, the lowest rung first) is uploaded through the site.
As soon as its start is encoded the library offers "Watch now" with how much is ready; its page plays it while
it is PROCESSING (the seek bar reaching only that far), plays on across READY without a stall or an error (the
same playlists end; the player is not rebuilt), and a seek back to the start afterwards plays from there with
every rung of the finished ladder. Deleted meanwhile, the player stops with words.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENS, assert_accessible
from tests.browser.test_site import READY_TIMEOUT_MS, sign_in, wait_until
from tests.e2e.conftest import Stack
from tests.media import make_clip

pytestmark = pytest.mark.service("web", "transcode", "metadata")

SECONDS = 30
VIDEO = "document.querySelector('video')"
# Stalls while playing: each `waiting` (or `stalled`) episode until the playhead moves again, in ms. A wait at the
# end of what is encoded so far (the playlist's end, which hls.js makes the duration) is the encoder's pace, not a
# stall: those are only counted.
WATCH_STALLS = """(() => {
  const v = document.querySelector('video');
  const log = window.stalls = { done: [], since: null, atEncoder: 0, last: v.currentTime };
  const begin = () => {
    if (log.since !== null) return;
    if (v.duration - v.currentTime < 1) log.atEncoder += 1;
    else log.since = performance.now();
  };
  const end = () => { if (log.since !== null) { log.done.push(performance.now() - log.since); log.since = null; } };
  v.addEventListener('waiting', begin);
  v.addEventListener('stalled', begin);
  v.addEventListener('timeupdate', () => { if (v.currentTime > log.last) end(); log.last = v.currentTime; });
})()"""
# the page's own access token (oidc-client-ts keeps the signed-in user in sessionStorage)
SIGNED_IN_TOKEN = """JSON.parse(sessionStorage.getItem(
  Object.keys(sessionStorage).find(key => key.startsWith('oidc.user:')))).access_token"""
# how far the seek bar reaches, and what the page says is ready, read at once
REACH_AND_READY = "[+document.querySelector('.seek').max, document.querySelector('.watch .playable').textContent]"
LONGEST_STALL = "(s => Math.max(0, ...s.done, s.since === null ? 0 : performance.now() - s.since))(window.stalls)"


@pytest.fixture(scope="module")
def early_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s a little over 480p: two rungs (864x486 and 480p), the lower encoded first; 6 chunks (the first 6 s).
    15 frames a second: half the encoding of 30 (the test waits for READY)."""
    folder = tmp_path_factory.mktemp("early")
    return make_clip(folder / "early bird.mp4", width=864, height=486, seconds=SECONDS, fps=15, extra=("-b:v", "600k"))


def now(page: Page) -> float:
    return float(page.evaluate(f"{VIDEO}.currentTime"))


def test_a_video_plays_while_it_is_encoded_and_on_across_ready(page: Page, site: Stack, early_clip: Path) -> None:
    # Given a clip uploaded through the site, whose start is encoded
    sign_in(page, site, "browser-early")
    page.locator("#file-input").set_input_files(early_clip)
    card = page.locator(".card", has_text="early bird.mp4")
    watch_now = card.get_by_role("link", name="Watch now")
    expect(watch_now).to_be_visible(timeout=READY_TIMEOUT_MS)
    video_id = card.get_attribute("data-video-id")
    expect(card).to_have_attribute("data-status", "PROCESSING")
    # (the list gives the whole length once it knows it: "0:12 of 0:30 ready", else "0:12 ready")
    expect(card.locator(".playable")).to_have_text(re.compile(r"^\d+:\d\d( of 0:30)? ready$"))
    # its upload's row says what is true now: not "processing starts shortly"
    row = page.locator(".upload", has_text="early bird.mp4").locator(".details")
    expect(row).to_have_text(re.compile(r"^Uploaded: processing(, \d+% done)?$"))
    page.screenshot(path=str(SCREENS / "library-watch-now.png"))
    assert_accessible(page, "the library with a video PROCESSING")

    # When it is opened from "Watch now" and played while PROCESSING
    watch_now.click()
    expect(page.get_by_role("heading", name="early bird.mp4")).to_be_visible()
    badge = page.locator(".watch .status .badge")
    expect(badge).to_have_attribute("data-status", "PROCESSING")
    expect(page.locator(".watch .playable")).to_have_text(re.compile(r"^\d+:\d\d( of 0:30)? ready$"))
    seek = page.get_by_label("Seek")
    # the seek bar reaches as far as the page says is ready (the video's end only once all of it plays)
    reach, ready = page.evaluate(REACH_AND_READY)
    minutes, seconds = re.match(r"(\d+):(\d\d)", ready).groups()  # type: ignore[union-attr]
    assert 0 <= reach - (int(minutes) * 60 + int(seconds)) < 1, f"the seek bar reaches {reach} s; the page says {ready}"
    page.evaluate(f"{VIDEO}.muted = true; {VIDEO}.play()")
    wait_until(page, f"{VIDEO}.currentTime > 0.3", timeout=20)
    assert badge.get_attribute("data-status") == "PROCESSING", "READY came before playback started"
    assert now(page) < 3, "it did not start at the beginning"
    page.evaluate(WATCH_STALLS)
    page.screenshot(path=str(SCREENS / "watch-early.png"))
    assert_accessible(page, "the watch page of a video PROCESSING")

    # Then it plays on across READY: the same player, never stalled for long, no error
    expect(badge).to_have_attribute("data-status", "READY", timeout=READY_TIMEOUT_MS)
    at_ready = now(page)
    page.wait_for_timeout(3000)
    ended = page.evaluate(f"{VIDEO}.ended")  # (on a slow machine READY may come near the end)
    assert now(page) > at_ready + 2 or ended, f"stuck at {now(page):.1f} s after READY (at {at_ready:.1f} s)"
    assert page.evaluate(f"{VIDEO}.error") is None
    longest = page.evaluate(LONGEST_STALL)
    assert longest <= 1000, f"a stall of {longest:.0f} ms (stalls: {page.evaluate('window.stalls.done')})"
    assert float(seek.get_attribute("max") or 0) == pytest.approx(SECONDS, abs=1)
    expect(page.get_by_role("link", name="480p")).to_be_visible()  # the details now offer the downloads
    expect(page.locator(".watch .playable")).to_be_hidden()

    # And a seek back to the start (Home on the seek bar) plays from there, now with every rung
    seek.press("Home")
    if ended:
        page.evaluate(f"{VIDEO}.play()")
    wait_until(page, f"{VIDEO}.currentTime < 2 && !{VIDEO}.paused", timeout=15)
    start = now(page)
    wait_until(page, f"{VIDEO}.currentTime > {start + 1}", timeout=15)
    assert now(page) < 6, "it did not play from the start"
    assert page.evaluate(f"{VIDEO}.error") is None
    expect(page.get_by_label("Quality").locator("option")).to_have_count(3)  # Auto and both rungs

    # And deleted meanwhile (from another tab or device), the player stops and says so: not a frozen picture
    token = page.evaluate(SIGNED_IN_TOKEN)
    deleted = requests.delete(site.url(f"/videos/{video_id}"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert deleted.ok, deleted.text
    expect(page.get_by_role("alert")).to_have_text("This video was deleted.")
    expect(page.locator("video")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete video")).to_have_count(0)
