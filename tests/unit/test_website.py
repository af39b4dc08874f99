"""The website's sources and the local server that serves them like CloudFront.

XSS-safety by construction: no HTML sinks anywhere in the sources (text goes through dom.ts's
text nodes); the page has no inline script (the CSP forbids it) and names only built assets.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest

from devstack.site import SiteServer, route, site_config

pytestmark = pytest.mark.service("web")

WEB = Path(__file__).resolve().parents[2] / "services" / "web"
# Every way a string can become markup or code in a page
SINKS = re.compile(
    r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\s*\("
    r"|setAttribute\(\s*[\"']on|setAttribute\(\s*[\"']style|createContextualFragment|DOMParser"
)


def sources() -> list[Path]:
    return sorted((WEB / "src").rglob("*.ts"))


def test_the_sources_have_no_html_sinks() -> None:
    assert sources(), "no TypeScript sources found"
    found = [f"{path.relative_to(WEB)}: {line.strip()}" for path in sources()
             for line in path.read_text().splitlines() if SINKS.search(line)]  # fmt: skip
    assert not found, "text must be rendered with dom.ts's h()/text nodes, never parsed as HTML:\n" + "\n".join(found)


@pytest.mark.parametrize("line", ["el.innerHTML = name", "x.insertAdjacentHTML('beforeend', t)", "eval(code)"])
def test_the_sink_rule_catches_them(line: str) -> None:
    assert SINKS.search(line)


@pytest.mark.parametrize("name", ["index.html", "embed.html"])
def test_the_page_has_no_inline_script_or_handlers(name: str) -> None:
    page = (WEB / "static" / name).read_text()
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.DOTALL)
    assert scripts and all(not body.strip() for body in scripts), f"inline script in {name}"
    assert all('src="' in tag for tag in re.findall(r"<script\b[^>]*>", page))
    assert not re.search(r"\son\w+\s*=", page), f"an inline event handler in {name}"
    assert not re.search(r"\sstyle\s*=", page), f"an inline style in {name}"


@pytest.mark.parametrize(
    ("path", "served"),
    [
        ("/", "/index.html"),
        ("/videos/abc123", "/index.html"),
        ("/profile?x=1", "/index.html"),
        ("/callback?code=1&state=2", "/index.html"),
        ("/v/AbC_-1234567890123456789abc", "/index.html"),
        ("/latest", "/index.html"),
        ("/embed/AbC_-1234567890123456789abc", "/embed.html"),
        ("/embed/AbC_-1234567890123456789abc/", "/embed.html"),
        ("/embed/", "/embed.html"),  # (no share id: the embed page says so)
        ("/embed", "/index.html"),  # (the app's "not found")
        ("/embed.html", "/embed.html"),
        ("/embed/missing.js", "/embed/missing.js"),
        ("/assets/app-X.js", "/assets/app-X.js"),
        ("/config.json", "/config.json"),
        ("/missing.png", "/missing.png"),
        ("/assets/../../etc/passwd.txt", "/etc/passwd.txt"),
    ],
)
def test_routing_is_the_distributions(path: str, served: str) -> None:
    assert route(path) == served


SITE_HEADERS = {"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'", "X-Frame-Options": "DENY"}
EMBED_HEADERS = {"Content-Security-Policy": "default-src 'self'; frame-ancestors *"}


@pytest.fixture
def site(tmp_path: Path) -> SiteServer:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "embed.html").write_text("<!doctype html><title>embed</title>")
    (tmp_path / "assets" / "app-1.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("no")
    server = SiteServer(tmp_path, headers=SITE_HEADERS, behaviours=(("/embed/*", EMBED_HEADERS),))
    server.config = site_config("http://127.0.0.1:1")
    return server


def test_files_index_and_config(site: SiteServer) -> None:
    status, headers, body = site.respond("/videos/1")
    assert (status, headers["Content-Type"], headers["Cache-Control"]) == (200, "text/html; charset=utf-8", "no-cache")
    assert body.startswith(b"<!doctype html>")
    status, headers, _ = site.respond("/assets/app-1.js")
    assert (
        status == 200
        and "immutable" in headers["Cache-Control"]
        and headers["Content-Type"].startswith("text/javascript")
    )
    status, headers, body = site.respond("/config.json")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert b'"client_id": "video24-web"' in body


def test_the_embed_page_is_embed_html(site: SiteServer) -> None:
    status, headers, body = site.respond("/embed/AbC_-1234567890123456789abc?t=3")
    assert (status, headers["Content-Type"], headers["Cache-Control"]) == (200, "text/html; charset=utf-8", "no-cache")
    assert b"<title>embed</title>" in body


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/embed/AbC_-1234567890123456789abc", EMBED_HEADERS),
        ("/embed/AbC_-1234567890123456789abc?autoplay=1", EMBED_HEADERS),
        ("/embed/", EMBED_HEADERS),
        # every other answer refuses framing: the pages, the embed page's file asked for by name, files, config
        ("/embed", SITE_HEADERS),
        ("/embed.html", SITE_HEADERS),
        ("/v/AbC_-1234567890123456789abc", SITE_HEADERS),
        ("/", SITE_HEADERS),
        ("/assets/app-1.js", SITE_HEADERS),
        ("/config.json", SITE_HEADERS),
        ("/x/embed/1", SITE_HEADERS),
        ("/Embed/1", SITE_HEADERS),  # (CloudFront's patterns are case-sensitive)
    ],
)
def test_only_the_embed_page_has_the_embed_pages_headers(site: SiteServer, path: str, headers: dict[str, str]) -> None:
    assert site.headers_for(path) == headers


def test_the_server_sends_each_paths_headers(site: SiteServer) -> None:
    """Over HTTP, as the browser gets them: the embed page may be framed by any site, a share page by none."""
    site.start()
    try:
        with urllib.request.urlopen(f"{site.url}/embed/AbC_-1234567890123456789abc", timeout=10) as answer:
            embed = answer.headers
        with urllib.request.urlopen(f"{site.url}/v/AbC_-1234567890123456789abc", timeout=10) as answer:
            page = answer.headers
    finally:
        site.stop()
    assert embed["Content-Security-Policy"].endswith("frame-ancestors *") and "X-Frame-Options" not in embed
    assert page["Content-Security-Policy"].endswith("frame-ancestors 'none'") and page["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/nothing.js", "/../secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt"])
def test_nothing_outside_the_site_and_no_masked_404(site: SiteServer, path: str) -> None:
    assert site.respond(path)[0] == 404


def test_local_config_points_everything_at_the_local_api() -> None:
    config = site_config("http://127.0.0.1:8080")
    assert set(config["apis"].values()) == {"http://127.0.0.1:8080"}
    assert config["oidc"]["authority"] == "http://127.0.0.1:8080"
    assert config["push_url"] is None
