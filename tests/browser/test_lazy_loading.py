"""The watch page loads only what is watched, in Chromium against the local stack.

A READY 45 s clip's page, opened and left alone, fetches its poster and its playlists and nothing else: no
init or media segment (byte ranges of the chunk files), no thumbnails track, no sprite. Once played, it plays,
the previews' track comes, and hls.js keeps about 30 s ahead (a 6 s segment over), not the whole clip.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.test_site import READY_TIMEOUT_MS, sign_in, wait_until
from tests.e2e.conftest import Stack
from tests.media import make_clip

pytestmark = pytest.mark.service("web")

MEDIA = (".mp4", ".m4s", ".m4a", ".ts", ".jpg", ".jpeg", ".png", ".webp", ".vtt")
SEGMENT_SECONDS = 6  # the stack's HLS segments (transcode's SEGMENT_SECONDS)
# maxBufferLength 30: the last segment asked for below it may end 6 s later (and half a second for timestamps)
AHEAD_LIMIT = 30 + SEGMENT_SECONDS + 0.5
# seconds of media buffered ahead of the playhead (in the buffered range that holds it)
AHEAD = """(() => {
  const v = document.querySelector('video');
  for (let i = 0; i < v.buffered.length; i++) {
    const [start, end] = [v.buffered.start(i), v.buffered.end(i)];
    if (start <= v.currentTime + 0.1 && v.currentTime <= end) return end - v.currentTime;
  }
  return 0;
})()"""


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """45 s, small: more than hls.js's 30 s buffer, cheap to encode (8 chunks of 6 s, one 180p rung, 10 fps)."""
    folder = tmp_path_factory.mktemp("lazy")
    return make_clip(folder / "long walk.mp4", width=320, height=180, seconds=45, fps=10, extra=("-b:v", "250k"))


class Fetches:
    """Every request the page makes, and the bytes of each answer once it is in."""

    def __init__(self, page: Page) -> None:
        self.requests: list[Request] = []
        page.on("request", lambda request: self.requests.append(request))

    def media(self) -> list[Request]:
        """The requests for media files and playlists (not the site, its config, the API or sign-in)."""
        return [r for r in self.requests if "/playback/" in r.url or urlsplit(r.url).path.lower().endswith(MEDIA)]

    @staticmethod
    def path(request: Request) -> str:
        return urlsplit(request.url).path

    @staticmethod
    def size(request: Request) -> int:
        response = request.response()
        return request.sizes()["responseBodySize"] if response else 0


def test_the_watch_page_fetches_only_what_is_watched(page: Page, site: Stack, long_clip: Path) -> None:
    # Given a READY clip longer than the buffer
    sign_in(page, site, "browser-lazy")
    page.locator("#file-input").set_input_files(long_clip)
    card = page.locator(".card", has_text="long walk.mp4")
    expect(card).to_have_attribute("data-status", re.compile("^(READY|FAILED)$"), timeout=READY_TIMEOUT_MS)
    expect(card).to_have_attribute("data-status", "READY", timeout=1)
    video_id = card.get_attribute("data-video-id")

    # When its page is opened (a fresh load: nothing of the library in flight) and left alone
    fetches = Fetches(page)
    page.goto(f"{site.web}/videos/{video_id}")
    expect(page.get_by_role("heading", name="long walk.mp4")).to_be_visible()
    expect(page.get_by_label("Quality").locator("option")).to_have_count(2)  # Auto, 180p: the master was read
    page.wait_for_timeout(2500)  # what a preloading player would fetch by now

    # Then it fetched the poster and playlists only
    poster = page.locator("video").get_attribute("poster")
    assert poster, "the player shows no poster"
    media = fetches.media()
    unexpected = [
        f"{r.method} {Fetches.path(r)} {r.headers.get('range', '')}"
        for r in media
        if r.url != poster and not ("/playback/" in r.url and Fetches.path(r).endswith(".m3u8"))
    ]
    assert not unexpected, f"fetched before play: {unexpected}"
    assert any(Fetches.path(r).endswith(".m3u8") for r in media), "not even the master playlist was fetched"
    before_play = sum(Fetches.size(r) for r in media)
    assert before_play < 200_000, f"{before_play} bytes of media before play"

    # When it is played
    at_play = len(fetches.requests)
    page.evaluate("document.querySelector('video').muted = true; document.querySelector('video').play()")
    wait_until(page, "document.querySelector('video').currentTime > 1", timeout=20)

    # Then segments come, and the previews' track with the first play
    assert any(Fetches.path(r).endswith(".mp4") and r.headers.get("range") for r in fetches.requests[at_play:])
    wait_until(page, "performance.getEntriesByType('resource').some(e => new URL(e.name).pathname.endsWith('.vtt'))")
    assert page.evaluate("document.querySelector('video').error") is None

    # And the buffer ahead stays bounded while it plays on, short of the clip's end
    deadline, furthest = time.monotonic() + 3, 0.0
    while time.monotonic() < deadline:
        furthest = max(furthest, page.evaluate(AHEAD))
        page.wait_for_timeout(250)
    buffered_end = page.evaluate("(v => v.buffered.end(v.buffered.length - 1))(document.querySelector('video'))")
    duration = page.evaluate("document.querySelector('video').duration")
    assert 0 < furthest <= AHEAD_LIMIT, f"{furthest:.1f} s buffered ahead"
    assert buffered_end < duration - 1, f"the whole clip was buffered ({buffered_end:.1f} of {duration:.1f} s)"
    assert page.evaluate("document.querySelector('video').currentTime") > 3

    # And the seek bar by keyboard: 5 s an arrow, 30 s a page, Home and End to its ends; where it is, in words
    page.get_by_role("button", name="Pause").click()
    seek = page.get_by_role("slider", name="Seek")
    time_shown = page.locator(".player .time")
    seek.press("Home")
    assert now(page) == pytest.approx(0, abs=0.3)
    expect(seek).to_have_attribute("aria-valuetext", "0 seconds of 45 seconds")
    expect(time_shown).to_have_text("0:00 / 0:45")
    seek.press("ArrowRight")
    assert now(page) == pytest.approx(5, abs=0.3)
    expect(seek).to_have_attribute("aria-valuetext", "5 seconds of 45 seconds")
    expect(time_shown).to_have_text("0:05 / 0:45")
    seek.press("PageUp")
    assert now(page) == pytest.approx(35, abs=0.3)
    seek.press("ArrowLeft")
    assert now(page) == pytest.approx(30, abs=0.3)
    expect(seek).to_have_attribute("aria-valuetext", "30 seconds of 45 seconds")
    seek.press("End")
    assert now(page) == pytest.approx(float(seek.get_attribute("max") or 0), abs=0.3)
    seek.press("PageDown")
    assert now(page) == pytest.approx(float(seek.get_attribute("max") or 0) - 30, abs=0.3)


def now(page: Page) -> float:
    return float(page.evaluate("document.querySelector('video').currentTime"))
