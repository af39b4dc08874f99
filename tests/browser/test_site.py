"""The website as a person uses it, in Chromium, against the local stack (make up's site and API).

Sign in through the local issuer (OIDC code + PKCE), upload two clips at once (a small one by the
presigned POST form, a bigger one multipart) and watch the progress advance, see both become READY
on screen without a reload, play one through hls.js with the site's controls and switch its quality,
delete it; a hostile display name and file name shown as text; an expired session sent back through
sign-in to the page it was on; Back after signing out. Each page is checked with axe-core where it is
fully drawn (assert_accessible). Each test leaves a screenshot in .demo/screens/.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import FileChooser, Page, expect

from tests.browser.conftest import SCREENS, Console, assert_accessible
from tests.e2e.conftest import Stack
from tests.media import make_clip

pytestmark = pytest.mark.service("web")

HOSTILE = "<img src=x onerror=alert(1)>"
READY_TIMEOUT_MS = 150_000
# what is wrong with the focused element's focus ring ("" if nothing): there, and not cut by any box around it
FOCUS_RING = """(() => {
  const focused = document.activeElement;
  const style = getComputedStyle(focused);
  const width = parseFloat(style.outlineWidth);
  if (!focused.matches(':focus-visible') || style.outlineStyle === 'none' || !(width > 0)) return 'no focus ring';
  const ring = width + parseFloat(style.outlineOffset);
  const box = focused.getBoundingClientRect();
  for (let around = focused.parentElement; around; around = around.parentElement) {
    const s = getComputedStyle(around);
    if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
    const r = around.getBoundingClientRect();
    const inside = box.left - ring >= r.left + parseFloat(s.borderLeftWidth)
      && box.top - ring >= r.top + parseFloat(s.borderTopWidth)
      && box.right + ring <= r.right - parseFloat(s.borderRightWidth)
      && box.bottom + ring <= r.bottom - parseFloat(s.borderBottomWidth);
    if (!inside) return `clipped by ${around.tagName.toLowerCase()}.${around.className} (overflow ${s.overflow})`;
  }
  return '';
})()"""


@pytest.fixture(scope="module")
def browser_clips(tmp_path_factory: pytest.TempPathFactory, big_clip: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("browser-clips")
    return {
        # about 2 MB, over the stack's 1 MiB multipart threshold: one part PUT with its ETag read back
        "big": big_clip,
        "small": make_clip(folder / "street.mp4", width=640, height=360, seconds=2, extra=("-b:v", "300k")),
    }


def sign_in(page: Page, site: Stack, user: str, *, lifetime: int | None = None) -> None:
    """From the welcome page through the local issuer's sign-in form and back."""
    page.goto(site.web or "")
    page.get_by_role("button", name="Sign in to start").click()
    fill_sign_in(page, user, lifetime=lifetime)
    expect(page.get_by_role("heading", name="My videos")).to_be_visible()


def fill_sign_in(page: Page, user: str, *, lifetime: int | None = None) -> None:
    expect(page).to_have_title(re.compile("sign-in", re.IGNORECASE))
    page.get_by_label("User name").fill(user)
    if lifetime is not None:
        page.get_by_label(re.compile("lifetime", re.IGNORECASE)).fill(str(lifetime))
    page.get_by_role("button", name="Sign in").click()


def wait_until(page: Page, expression: str, timeout: float = 20) -> None:
    """Poll a JavaScript expression until it is true (page.wait_for_function evals, which the site's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.1)


def throttle_uploads(page: Page, bytes_per_second: int) -> None:
    """DevTools' network throttling, uploads only: the progress bar has time to move."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second},
    )


def test_sign_in_and_out(page: Page, site: Stack) -> None:
    page.goto(site.web or "")
    expect(page.get_by_role("heading", name="Your videos, anywhere")).to_be_visible()
    assert_accessible(page, "the welcome page")
    page.get_by_role("button", name="Sign in to start").click()
    expect(page).to_have_title(re.compile("sign-in", re.IGNORECASE))
    page.screenshot(path=str(SCREENS / "local-sign-in.png"))
    assert_accessible(page, "the local issuer's sign-in page")
    sign_in(page, site, "browser-bea")
    expect(page.get_by_text("No videos yet")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Profile of browser-bea"))).to_be_visible()
    page.screenshot(path=str(SCREENS / "library-empty.png"))
    assert_accessible(page, "the empty library")

    # the keyboard reaches the file picker, and Space opens it (listening first: interception is then on)
    choosers: list[FileChooser] = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "file-input":
            break
    assert page.evaluate("document.activeElement.id") == "file-input", "the file picker is not reachable by Tab"
    page.keyboard.press("Space")
    deadline = time.monotonic() + 10
    while not choosers and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert choosers and choosers[0].is_multiple(), "Space on the file picker opened no file chooser"

    # a phone: nothing wider than the screen
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SCREENS / "library-phone.png"))
    page.set_viewport_size({"width": 1280, "height": 800})

    # signed out on a page past the library: Back shows that page signed out, offering sign-in, and stays there
    # (it used to send the person to sign in, and Back from there to the page that sent them again)
    page.get_by_role("link", name=re.compile("Profile of")).click()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Your videos, anywhere")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    page.wait_for_timeout(1000)  # a redirect would have gone by now
    expect(page).to_have_url(f"{site.web}/profile")
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    page.screenshot(path=str(SCREENS / "signed-out.png"))
    assert_accessible(page, "a page after signing out")
    page.get_by_role("main").get_by_role("button", name="Sign in again").click()
    fill_sign_in(page, "browser-bea")
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page).to_have_url(f"{site.web}/profile")

    # a deep link in a new tab (no session there): through sign-in, then there; Back from the sign-in form goes
    # to the page before the link, not to the link (which would send the person to sign in again)
    tab = page.context.new_page()
    tab_console = Console(tab)
    tab.goto(site.web or "")
    expect(tab.get_by_role("heading", name="Your videos, anywhere")).to_be_visible()
    tab.goto(f"{site.web}/profile")
    expect(tab).to_have_title(re.compile("sign-in", re.IGNORECASE))
    tab.go_back()
    expect(tab.get_by_role("heading", name="Your videos, anywhere")).to_be_visible()
    tab.goto(f"{site.web}/profile")
    fill_sign_in(tab, "browser-bea")
    expect(tab.get_by_role("heading", name="Profile")).to_be_visible()
    expect(tab).to_have_url(f"{site.web}/profile")
    tab.close()
    assert not tab_console.errors, f"console errors in the second tab: {tab_console.errors}"


def test_upload_play_switch_quality_delete(page: Page, site: Stack, browser_clips: dict[str, Path]) -> None:
    sign_in(page, site, "browser-ada")
    # the page holds a push connection (the notify service's WebSocket API, with its token) as the local stack has one
    connections = site.session.resource("dynamodb", endpoint_url=site.endpoint).Table(
        site.name("notify", "ConnectionsTable")
    )
    site.wait_for("the page's push connection", lambda: connections.scan().get("Items"), timeout=15)
    throttle_uploads(page, 1_000_000)
    page.locator("#file-input").set_input_files([browser_clips["big"], browser_clips["small"]])

    big = page.locator(".upload", has_text="Harbour at dawn.mp4")
    expect(big).to_be_visible()
    # the bar moves: a value strictly between 0 and 100 with a speed and time left, then done
    wait_until(
        page,
        """[...document.querySelectorAll('.upload')].some(row =>
             row.textContent.includes('Harbour at dawn.mp4') &&
             row.querySelector('progress').value > 0 && row.querySelector('progress').value < 100 &&
             /\\d+% · .+\\/s · /.test(row.querySelector('.details').textContent))""",
    )
    page.screenshot(path=str(SCREENS / "upload-progress.png"))
    assert_accessible(page, "the library with uploads in progress")
    expect(big).to_have_attribute("data-state", "done", timeout=30_000)
    expect(page.locator('.upload:not([data-state="done"])')).to_have_count(0)  # (street.mp4's row may be gone: READY)

    # both in the library at once, then READY without a reload
    cards = page.locator(".card")
    expect(cards).to_have_count(2)
    for title in ("Harbour at dawn.mp4", "street.mp4"):
        card = page.locator(".card", has_text=title)
        expect(card).to_have_attribute("data-status", "READY", timeout=READY_TIMEOUT_MS)
    expect(page.locator(".card", has_text="Harbour at dawn.mp4").locator("img")).to_be_visible()
    # the upload rows said what was true and went once their videos were READY (their cards say it now)
    expect(page.locator(".upload")).to_have_count(0)
    page.screenshot(path=str(SCREENS / "library-ready.png"))
    assert_accessible(page, "the library of READY videos")
    # a card's keyboard focus ring is drawn whole: nothing around the card cuts it
    page.locator("#file-input").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.card') !== null"), "Tab did not reach the first card"
    assert page.evaluate(FOCUS_RING) == ""
    page.screenshot(path=str(SCREENS / "library-card-focus.png"))

    page.set_viewport_size({"width": 1280, "height": 1000})  # the player, its seek bar and menu in one screen
    page.locator(".card", has_text="Harbour at dawn.mp4").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Harbour at dawn.mp4")).to_be_visible()
    quality = page.get_by_label("Quality")
    expect(quality.locator("option")).to_have_count(3)  # Auto, 720p, 480p
    # one seek bar, the site's: the browser's controls are off; the site's play, mute and tell the time
    assert page.locator("video").get_attribute("controls") is None
    expect(page.get_by_role("slider", name="Seek")).to_have_count(1)
    page.get_by_role("button", name="Mute").click()
    expect(page.get_by_role("button", name="Unmute")).to_be_visible()
    expect(page.get_by_role("slider", name="Volume")).to_have_attribute("aria-valuetext", "muted")
    assert page.evaluate("document.querySelector('video').muted")
    page.get_by_role("button", name="Play").click()
    wait_until(page, "document.querySelector('video').currentTime > 0.5", timeout=20)
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    expect(page.locator(".player .time")).to_have_text(re.compile(r"^0:0[0-3] / 0:03$"))

    quality.select_option(label="480p")
    wait_until(page, "document.querySelector('video').videoHeight === 480", timeout=20)
    page.evaluate("document.querySelector('video').currentTime = 0; document.querySelector('video').play()")
    wait_until(page, "document.querySelector('video').currentTime > 0.5", timeout=20)
    assert page.evaluate("document.querySelector('video').error") is None
    quality.select_option(label="720p")
    wait_until(page, "document.querySelector('video').videoHeight === 720", timeout=20)

    # seek-bar preview: the sprite region of the frame under the pointer
    seek = page.get_by_label("Seek")
    box = seek.bounding_box()
    assert box
    seek.hover(position={"x": box["width"] * 0.5, "y": box["height"] / 2})
    preview = page.locator(".preview")
    expect(preview).to_be_visible()
    assert "url(" in preview.evaluate("element => element.style.backgroundImage")
    expect(page.get_by_role("link", name="720p")).to_have_attribute("href", re.compile("^http"))
    page.screenshot(path=str(SCREENS / "watch.png"))
    assert_accessible(page, "the watch page")
    page.get_by_role("button", name="Full screen").click()
    wait_until(page, "document.fullscreenElement?.classList.contains('player') === true", timeout=5)
    page.get_by_role("button", name="Exit full screen").click()
    wait_until(page, "document.fullscreenElement === null", timeout=5)

    page.get_by_role("button", name="Delete video").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Harbour at dawn.mp4")
    assert_accessible(page, "the delete confirmation")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="My videos")).to_be_visible()
    expect(page.locator(".card", has_text="Harbour at dawn.mp4")).to_have_count(0)
    expect(page.locator(".card", has_text="street.mp4")).to_have_count(1)


def test_hostile_names_are_shown_as_text(
    page: Page, site: Stack, tmp_path: Path, browser_clips: dict[str, Path]
) -> None:
    sign_in(page, site, "browser-eve")
    page.get_by_role("link", name=re.compile("Profile of")).click()
    expect(page.locator('dd[data-field="User name"]')).to_have_text("browser-eve")  # the profile has loaded
    page.get_by_label("Display name").fill(HOSTILE)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".profile .notice")).to_have_text("Saved.", timeout=15_000)
    expect(page.locator("#nav .who")).to_have_text(HOSTILE)
    expect(page.locator('dd[data-field="Display name"]')).to_have_text(HOSTILE)
    # and e-mail about her videos turned on, to the address her sign-in gave, kept across a reload
    expect(page.locator("#email-hint")).to_have_text("(to browser-eve@example.com)")
    page.get_by_label("E-mail me when a video is ready or fails").check()
    expect(page.locator("#email-status")).to_have_text("You will be e-mailed when a video is ready or fails.")
    page.reload()
    expect(page.get_by_label("E-mail me when a video is ready or fails")).to_be_checked()
    expect(page.locator('dd[data-field="Display name"]')).to_have_text(HOSTILE)
    page.screenshot(path=str(SCREENS / "profile.png"))
    assert_accessible(page, "the profile")

    hostile_file = tmp_path / f"{HOSTILE}.mp4"
    hostile_file.write_bytes(browser_clips["small"].read_bytes())
    page.get_by_role("link", name="My videos").click()
    page.locator("#file-input").set_input_files(hostile_file)
    expect(page.locator(".upload .name")).to_contain_text(f"{HOSTILE}.mp4")
    expect(page.locator(".card", has_text=f"{HOSTILE}.mp4")).to_have_count(1, timeout=30_000)  # uploaded
    assert page.locator("img[src='x']").count() == 0  # nothing was parsed as markup
    page.screenshot(path=str(SCREENS / "hostile-names.png"))


def test_expired_session_goes_back_through_sign_in(page: Page, site: Stack) -> None:
    sign_in(page, site, "browser-tim", lifetime=4)
    page.get_by_role("link", name=re.compile("Profile of")).click()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    # the access token expires: the site goes to sign in, and comes back to the profile afterwards
    expect(page).to_have_title(re.compile("sign-in", re.IGNORECASE), timeout=15_000)
    fill_sign_in(page, "browser-tim")
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page).to_have_url(f"{site.web}/profile")


def test_an_interrupted_multipart_upload_resumes(page: Page, site: Stack, tmp_path: Path) -> None:
    """Reloaded mid-upload: the same file added again sends only the parts S3 does not have."""
    mib = 1024 * 1024
    part_size = 8 * mib  # the upload service's smallest part: 17 MiB is parts of 8, 8 and 1 MiB
    file = tmp_path / "long take.mp4"
    file.write_bytes(os.urandom(2 * part_size + mib))  # not a video: the upload is what is tested
    bucket = site.name("upload", "UploadsBucket")
    sign_in(page, site, "browser-res")
    throttle_uploads(page, 3_000_000)
    page.locator("#file-input").set_input_files(file)

    def in_progress() -> list[dict]:
        return site.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])

    def parts_done() -> list[dict]:
        uploads = in_progress()
        if not uploads:
            return []
        listed = site.s3.list_parts(Bucket=bucket, Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"])
        return listed.get("Parts", [])

    deadline = time.monotonic() + 30
    while not parts_done() and time.monotonic() < deadline:
        time.sleep(0.05)
    first = parts_done()
    assert first, "no part reached S3"
    upload = in_progress()[0]
    page.reload()  # the page asks "leave?", then the upload stops
    assert page.console.leave_prompts == 1  # type: ignore[attr-defined]
    throttle_uploads(page, -1)
    expect(page.get_by_role("heading", name="My videos")).to_be_visible()
    sent_again: list[int] = []  # the part numbers PUT after the reload
    page.on(
        "request",
        lambda request: (
            request.method == "PUT"
            and "partNumber=" in request.url
            and sent_again.append(int(re.search(r"partNumber=(\d+)", request.url)[1]))
        ),  # type: ignore[index]
    )
    page.locator("#file-input").set_input_files(file)
    row = page.locator(".upload", has_text="long take.mp4")
    expect(row).to_have_attribute("data-state", "done", timeout=30_000)

    assert not in_progress()
    had = {part["PartNumber"] for part in first}
    assert sent_again and not had & set(sent_again), f"S3 had parts {had}; sent again: {sent_again}"
    key = upload["Key"]
    assert site.s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == file.stat().st_size
    assert site.s3.get_object(Bucket=bucket, Key=key)["Body"].read() == file.read_bytes()
    # the same upload finished, not a second one: its video id is the first attempt's
    video_id = key.split("/")[2]
    expect(page.locator(f'.card[data-video-id="{video_id}"]')).to_have_count(1)
    # and its row then says what became of the video: not a video, so it could not be processed
    expect(row).to_have_attribute("data-video-status", "FAILED", timeout=30_000)
    expect(row.locator(".details")).to_have_text(re.compile("could not be processed"))
