"""Sharing a video, in Chromium against the local stack: the owner's controls on the watch page, the share page, the
embed page, "Latest videos" and the view count, as people see them.

One small clip for the whole module, uploaded through the API as alice (the user the local issuer signs in as
`share-alice`) and used by every test in order: she renames it on its watch page to a hostile title (markup,
accents, emoji, Hebrew) and makes it unlisted; anyone plays it by its link, one view per page session; she makes it
public and bob finds it on "Latest videos"; its links are renewed before they end and when refused; its embed plays
in a frame of another origin (and nothing else of the site can be framed); private, it is no longer available.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Frame, Page, Route, expect

from devstack.demo import Client, upload
from tests.browser.conftest import SCREENS, Console, assert_accessible
from tests.browser.test_site import sign_in, wait_until
from tests.e2e.conftest import Stack
from tests.media import make_clip

pytestmark = pytest.mark.service("web", "metadata")

ALICE, BOB = "share-alice", "share-bob"
OWNER_NAME = "Alice ✨"
TITLE = '<img src=x onerror="window.__pwned=1"> Crème brûlée à la plage 🎬🌊 שלום עולם'
DESCRIPTION = "Filmed at dawn.\nSecond line: <b>not bold</b> & ✓"
PLAYS = "document.querySelector('video') && document.querySelector('video').currentTime > 0.5"
# nothing of the title became markup or ran
UNHARMED = "document.querySelectorAll('img[src=\"x\"]').length === 0 && window.__pwned === undefined"
NOT_AVAILABLE = "This video is not available"


class Sharing:
    """The module's video and its owner, as the API sees them."""

    def __init__(self, site: Stack, video_id: str, owner: Client) -> None:
        self.site, self.video_id, self.owner = site, video_id, owner

    def video(self) -> dict[str, Any]:
        return self.owner.call("GET", f"/videos/{self.video_id}")

    @property
    def share_id(self) -> str:
        share_id = self.video()["share_id"]
        assert share_id, "the video has no share id (still private?)"
        return share_id

    def views(self) -> int:
        return int(self.video()["views"])

    def wait_for_views(self, count: int, timeout: float = 20) -> None:
        """Until the API counts exactly `count` views (a beacon takes a moment), then a little longer to be sure."""
        deadline = time.monotonic() + timeout
        while (now := self.views()) < count and time.monotonic() < deadline:
            time.sleep(0.25)
        assert now == count, f"{now} views, expected {count}"

    def share_url(self) -> str:
        return f"{self.site.web}/v/{self.share_id}"

    def embed_url(self) -> str:
        return f"{self.site.web}/embed/{self.share_id}"


@pytest.fixture(scope="module")
def sharing(site: Stack, tmp_path_factory: pytest.TempPathFactory) -> Sharing:
    """alice's clip (12 s, 180p, 10 fps: long enough to pause in, cheap to encode), uploaded and being processed."""
    clip = make_clip(
        tmp_path_factory.mktemp("sharing") / "dawn.mp4",
        width=320,
        height=180,
        seconds=12,
        fps=10,
        extra=("-b:v", "200k"),
    )
    # the local issuer's sub for the user name: the browser's sign-in and these API calls are the same alice
    sub = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site.forge.issuer}{ALICE}"))
    alice = Client(site.url(""), site.forge.token(ALICE, sub=sub))
    alice.call("PUT", "/me", json={"display_name": OWNER_NAME})
    video_id = upload(alice, clip).video_id
    site.wait_for(
        "the catalog's record of the upload", lambda: site.item(video_id) and site.item(video_id).get("status")
    )
    return Sharing(site, video_id, alice)


@pytest.fixture
def anonymous(browser: Browser) -> Iterator[BrowserContext]:
    """Another person's browser: never signed in."""
    created = browser.new_context(viewport={"width": 1280, "height": 800})
    created.set_default_timeout(15_000)
    yield created
    created.close()


def open_page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.console = Console(page)  # type: ignore[attr-defined]
    return page


def close_page(page: Page, name: str) -> None:
    """A page a test opened itself: its screenshot, then the same checks as the fixture's page."""
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
    console: Console = page.console  # type: ignore[attr-defined]
    page.close()
    assert not console.errors, f"console errors: {console.errors}; failed answers: {console.failed}"


def refused_as_expected(page: Page, *expected: str) -> None:
    """The answers >= 400 the test caused on purpose (`expected`: regexes of "METHOD url -> status"): Chromium logs each
    as a console error, which is then not the page's. Any other refusal still fails the test."""
    console: Console = page.console  # type: ignore[attr-defined]
    unexpected = [answer for answer in console.failed if not any(re.search(e, answer) for e in expected)]
    assert not unexpected, f"refused: {unexpected}"
    console.errors[:] = [e for e in console.errors if not e.startswith("Failed to load resource: the server responded")]


def counted(views: int) -> str:
    return f"{views} view" if views == 1 else f"{views} views"


def time_in(frame: Page | Frame) -> float:
    return float(frame.evaluate("document.querySelector('video')?.currentTime ?? -1"))


def until(frame: Page | Frame, expression: str, timeout: float = 20) -> None:
    """wait_until for a frame (DevTools' evaluation: the site's CSP forbids a page's own eval)."""
    deadline = time.monotonic() + timeout
    while not frame.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.1)


def test_the_owner_renames_it_and_shares_it_by_link(page: Page, site: Stack, sharing: Sharing) -> None:
    # Given alice on her video's page
    sign_in(page, site, ALICE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.web)
    page.goto(f"{site.web}/videos/{sharing.video_id}")
    expect(page.get_by_role("heading", name="dawn.mp4", exact=True)).to_be_visible()
    title, description = page.get_by_label("Title", exact=True), page.get_by_label("Description", exact=True)
    expect(title).to_have_value("dawn.mp4")

    # When she gives it a title the API refuses (a right-to-left override), it says why, in words, and keeps hers
    title.fill("dawn\u202e4pm.exe")
    page.get_by_role("button", name="Save").click()
    saved = page.locator(".edit .says")
    expect(saved).to_have_text(re.compile(r"^Not saved: Title: U\+202E \(RIGHT-TO-LEFT OVERRIDE\) is not allowed"))
    refused_as_expected(page, rf"PATCH .*/videos/{sharing.video_id} -> 400")

    # When she renames it to a hostile title and describes it
    title.fill(TITLE)
    description.fill(DESCRIPTION)
    page.get_by_role("button", name="Save").click()
    expect(saved).to_have_text("Saved.")

    # Then the page shows the title as text, nothing of it ran, and the API has both as typed
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    assert page.evaluate(UNHARMED)
    assert (sharing.video()["title"], sharing.video()["description"]) == (TITLE, DESCRIPTION)

    # When she makes it unlisted: a line says who can watch, and the link and embed code appear, each with Copy
    expect(page.get_by_role("group", name="Who can watch").get_by_role("radio", name="Private")).to_be_checked()
    expect(page.get_by_role("button", name="Copy the share link")).to_have_count(0)
    page.get_by_role("radio", name="Unlisted").check()
    expect(page.locator(".sharing > .says")).to_have_text("Unlisted: anyone with the link can watch it.")
    share_id = sharing.share_id
    link = page.get_by_role("textbox", name="Share link")
    expect(link).to_have_value(f"{site.web}/v/{share_id}")
    expect(page.get_by_role("textbox", name="Embed code")).to_have_value(
        re.compile(
            rf'^<iframe src="{re.escape(site.web or "")}/embed/{share_id}" .*title="&lt;img src=x onerror=&quot;'
        )
    )
    page.get_by_role("button", name="Copy the share link").click()
    expect(page.locator(".links .says")).to_have_text("The link is copied.")
    assert page.evaluate("navigator.clipboard.readText()") == f"{site.web}/v/{share_id}"
    page.screenshot(path=str(SCREENS / "watch-sharing.png"), full_page=True)
    assert_accessible(page, "the watch page with its sharing controls")

    # When she asks for a new link, she is asked first; kept, the link stays
    page.get_by_role("button", name="Make a new link").click()
    dialog = page.get_by_role("dialog", name="Make a new link?")
    expect(dialog).to_contain_text("stops working for good")
    assert_accessible(page, "the new link confirmation")
    dialog.get_by_role("button", name="Keep this link").click()
    assert sharing.share_id == share_id
    # and made, the old one no longer opens the video
    page.get_by_role("button", name="Make a new link").click()
    page.get_by_role("dialog").get_by_role("button", name="Make a new link").click()
    expect(link).not_to_have_value(f"{site.web}/v/{share_id}")
    assert sharing.share_id != share_id
    assert requests.get(site.url(f"/shared/{share_id}"), timeout=10).status_code == 404
    assert page.evaluate(UNHARMED)


def test_anyone_with_the_link_plays_it_and_a_view_counts_once_per_page_session(
    anonymous: BrowserContext, site: Stack, sharing: Sharing
) -> None:
    # Given the unlisted video, READY, and its owner's name known to the catalog
    assert site.final_item(sharing.video_id)["status"] == "READY"
    shared = site.url(f"/shared/{sharing.share_id}")
    site.wait_for("the owner's name on the share route", lambda: requests.get(shared, timeout=10).json()["owner_name"])
    views = sharing.views()
    page = open_page(anonymous)

    # Then it is not on "Latest videos" (that is for public videos), for someone never signed in
    page.goto(f"{site.web}/latest")
    expect(page.get_by_role("heading", name="Latest videos")).to_be_visible()
    expect(page.get_by_role("list", name="Latest videos")).to_have_attribute("aria-busy", "false")
    expect(page.locator(f'.card[data-share-id="{sharing.share_id}"]')).to_have_count(0)

    # When they open its link: the page, not a sign-in
    page.goto(sharing.share_url())
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page).to_have_url(sharing.share_url())
    expect(page.locator(".byline")).to_contain_text(f"by {OWNER_NAME}")
    description = page.locator(".description")
    expect(description).to_have_text(DESCRIPTION.replace("\n", " "))  # (Playwright folds the whitespace)
    assert description.evaluate("element => element.innerText") == DESCRIPTION  # the line break shows
    oembed = page.locator('head link[rel="alternate"][type="application/json+oembed"]')
    expect(oembed).to_have_attribute("href", f"{site.url('/oembed')}?url={quote(sharing.share_url(), safe='')}")
    assert requests.get(oembed.get_attribute("href") or "", timeout=10).json()["title"] == TITLE
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()  # (signed out, and left so)
    # opening the page counts nothing
    page.wait_for_timeout(500)
    assert sharing.views() == views

    # When it plays: one view
    page.get_by_role("button", name="Play").click()
    wait_until(page, PLAYS)
    sharing.wait_for_views(views + 1)
    assert page.evaluate(UNHARMED)
    page.screenshot(path=str(SCREENS / "share-page.png"), full_page=True)
    assert_accessible(page, "the share page")

    # When it is played again from the start, and seeked, in the same page: no more
    page.evaluate("(() => { const v = document.querySelector('video'); v.pause(); v.currentTime = 0; v.play(); })()")
    wait_until(page, PLAYS)
    page.evaluate("document.querySelector('video').currentTime = 6")
    wait_until(page, "document.querySelector('video').currentTime > 6.3")
    page.wait_for_timeout(1000)
    assert sharing.views() == views + 1

    # When the page is loaded again (a new page session) and played: one more
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    page.get_by_role("button", name="Play").click()
    wait_until(page, PLAYS)
    sharing.wait_for_views(views + 2)
    close_page(page, "share-page-again")


def test_public_it_is_on_latest_videos_for_everyone(
    page: Page, browser: Browser, site: Stack, sharing: Sharing
) -> None:
    # Given alice's library: the card says how many views her video has
    views = sharing.views()
    sign_in(page, site, ALICE)
    card = page.locator(f'.card[data-video-id="{sharing.video_id}"]')
    expect(card.locator(".view-count")).to_have_text(f"· {counted(views)}")
    expect(card.get_by_role("heading")).to_have_text(TITLE)

    # When she makes it public on its page (which shows the same count)
    card.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".watch > .views")).to_have_text(counted(views))
    page.get_by_role("radio", name="Public").check()
    expect(page.locator(".sharing > .says")).to_have_text("Public: anyone can watch it, and it is on Latest videos.")
    assert sharing.video()["visibility"] == "public"
    assert page.evaluate(UNHARMED)

    # Then bob, signed in in another browser, finds it on "Latest videos", by her, and plays it
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    bob = open_page(context)
    try:
        sign_in(bob, site, BOB)
        bob.get_by_role("link", name="Latest videos").click()
        listed = bob.locator(f'.card[data-share-id="{sharing.share_id}"]')
        expect(listed.get_by_role("heading")).to_have_text(TITLE)
        expect(listed.locator(".owner")).to_have_text(f"by {OWNER_NAME}")
        expect(listed.locator("img")).to_be_visible()  # its poster
        assert bob.evaluate(UNHARMED)
        bob.screenshot(path=str(SCREENS / "latest-videos.png"), full_page=True)
        assert_accessible(bob, "Latest videos")
        listed.get_by_role("link").click()
        expect(bob).to_have_url(sharing.share_url())
        expect(bob.get_by_role("heading", level=1)).to_have_text(TITLE)
        expect(bob.get_by_role("link", name=re.compile("Profile of"))).to_be_visible()  # still signed in
        bob.get_by_role("button", name="Play").click()
        wait_until(bob, PLAYS)
        assert bob.evaluate(UNHARMED)
        close_page(bob, "latest-bob-plays")
    finally:
        context.close()


def test_links_are_renewed_before_they_end_and_when_refused(anonymous: BrowserContext, sharing: Sharing) -> None:
    """The share route's links last 10 minutes: its answers are made to end in 4 s here, and a playlist refused."""
    page = open_page(anonymous)
    asked: list[str] = []  # each answer of the share route, as the page got it

    def short_lived(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        if len(asked) in (0, 2) and body.get("playback"):  # the first and third: links that end in 4 s and 8 s
            life = timedelta(seconds=4 if not asked else 8)
            body["playback"]["expires_at"] = (datetime.now(UTC) + life).isoformat()
        asked.append(body["playback"]["hls"])
        route.fulfill(response=answer, json=body)

    page.route(re.compile(r"/shared/[^/?]+$"), short_lived)
    # Given the share page, open: it asks for fresh links before the first ones end, without being played
    page.goto(sharing.share_url())
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    deadline = time.monotonic() + 10
    while len(asked) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(asked) == 2, f"the share route was asked {len(asked)} times"

    # When its media playlists are refused (as those of links that ended are) until the page asks for fresh links
    # (the share route hands out the same links while more than half their life is left), then it is played
    refused: list[str] = []

    def refused_until_asked_again(route: Route) -> None:
        if len(asked) > 2:
            route.continue_()
            return
        refused.append(route.request.url)
        route.fulfill(status=403, headers={"Access-Control-Allow-Origin": "*"}, body="")

    page.route(re.compile(r"/playback/[^/]+/(?!master\.m3u8)[^?]+\.m3u8"), refused_until_asked_again)
    page.get_by_role("button", name="Play").click()
    wait_until(page, "document.querySelector('video').currentTime > 1.2")
    assert refused and len(asked) == 3, (refused, asked)

    # When it is paused and its (short) links are renewed: it stays where it was, and plays on from there
    page.evaluate("document.querySelector('video').pause()")
    paused_at = time_in(page)
    deadline = time.monotonic() + 10
    while len(asked) < 4 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(asked) == 4, f"the share route was asked {len(asked)} times"
    # (the new source starts at 0 for a moment: hls.js then seeks to where the old one was)
    back = f"Math.abs(document.querySelector('video').currentTime - {paused_at}) < 0.5"
    wait_until(page, f"document.querySelector('video').readyState >= 2 && {back}", timeout=10)
    page.wait_for_timeout(300)
    assert time_in(page) == pytest.approx(paused_at, abs=0.5) and page.evaluate(
        "document.querySelector('video').paused"
    )
    page.get_by_role("button", name="Play").click()
    wait_until(page, f"document.querySelector('video').currentTime > {paused_at + 0.7}")
    refused_as_expected(page, r"/playback/.+\.m3u8 -> 403")
    close_page(page, "share-page-renewed")


@pytest.fixture(scope="module")
def other_site() -> Iterator[str]:
    """Another origin (another port): a page with an <iframe> of ?src=, as a blog embedding the video would be."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            source = parse_qs(urlsplit(self.path).query).get("src", [""])[0]
            page = (
                '<!doctype html><html lang="en"><head><title>A blog</title></head><body><h1>My blog</h1>'
                f'<iframe src="{source}" width="640" height="360" title="A video" allow="fullscreen"></iframe>'
                "</body></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_embed_plays_in_a_frame_on_another_site_and_nothing_else_can_be_framed(
    page: Page, site: Stack, sharing: Sharing, other_site: str
) -> None:
    # Given a page of another origin with the embed in an <iframe>
    embed = sharing.embed_url()
    page.goto(f"{other_site}/?src={quote(embed, safe='')}")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("button", name="Play")).to_be_visible()
    [inside] = [f for f in page.frames if f.url == embed]

    # Then its title links to the share page, in a new tab, as text
    title = frame.get_by_role("link", name=TITLE)
    expect(title).to_have_attribute("href", sharing.share_url())
    expect(title).to_have_attribute("target", "_blank")
    expect(title).to_have_attribute("rel", "noopener")
    assert inside.evaluate(UNHARMED)

    # When it is played there, it plays, filling the frame (its controls in one row, nothing to scroll)
    frame.get_by_role("button", name="Play").click()
    until(inside, PLAYS)
    box = frame.locator("video").bounding_box()
    assert box and box["width"] > 600 and box["height"] > 200, box
    assert inside.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    page.screenshot(path=str(SCREENS / "embed-on-another-site.png"))

    # and the headers say why: any site may frame the embed page, no site any other page
    headers = requests.get(embed, timeout=10).headers
    assert headers["Content-Security-Policy"].endswith("frame-ancestors *") and "X-Frame-Options" not in headers
    for path in (f"/v/{sharing.share_id}", "/latest", "/"):
        headers = requests.get(f"{site.web}{path}", timeout=10).headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Content-Security-Policy"].endswith("frame-ancestors 'none'"), path

    # When the share page itself is put in a frame there, the browser refuses it: the frame stays empty
    blog = page.context.new_page()
    blog.goto(f"{other_site}/?src={quote(sharing.share_url(), safe='')}")
    [framed] = [f for f in blog.frames if f is not blog.main_frame]
    assert framed.url.startswith("chrome-error://"), framed.url  # (the browser's own "refused" page)
    assert blog.frame_locator("iframe").locator("#main, video").count() == 0  # nothing of the site's
    blog.close()

    # And the embed page on its own is accessible
    page.goto(embed)
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    assert_accessible(page, "the embed page")


def test_private_it_is_no_longer_available(anonymous: BrowserContext, site: Stack, sharing: Sharing) -> None:
    # Given someone on its share page, and its embed open elsewhere
    share, embed = sharing.share_url(), sharing.embed_url()
    page = open_page(anonymous)
    page.goto(share)
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    framed = open_page(anonymous)
    framed.goto(embed)
    expect(framed.get_by_role("button", name="Play")).to_be_visible()

    # When alice makes it private
    sharing.owner.call("PATCH", f"/videos/{sharing.video_id}", json={"visibility": "private"})

    # Then the share page, loaded again, says it is not available (and plays nothing)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Video not available")
    expect(page.get_by_role("alert")).to_contain_text(NOT_AVAILABLE)
    expect(page.locator("video")).to_have_count(0)
    assert not page.locator('link[type="application/json+oembed"]').count()
    page.screenshot(path=str(SCREENS / "share-page-not-available.png"))
    assert_accessible(page, "a share page of a private video")
    # and so does the embed
    framed.reload()
    expect(framed.get_by_role("alert")).to_contain_text(NOT_AVAILABLE)
    expect(framed.locator("video")).to_have_count(0)
    assert_accessible(framed, "the embed page of a private video")
    # and it is not on "Latest videos"
    page.goto(f"{site.web}/latest")
    expect(page.get_by_role("list", name="Latest videos")).to_have_attribute("aria-busy", "false")
    expect(page.locator(f'.card[data-share-id="{share.rsplit("/", 1)[1]}"]')).to_have_count(0)
    refused_as_expected(page, r"GET .*/shared/\S+ -> 404")
    refused_as_expected(framed, r"GET .*/shared/\S+ -> 404")
    close_page(page, "share-page-private")
    close_page(framed, "embed-private")
