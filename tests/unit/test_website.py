"""The website's sources and the local server that serves them like CloudFront.

XSS-safety by construction: no HTML sinks anywhere in the sources (text goes through dom.ts's
text nodes); the page has no inline script (the CSP forbids it) and names only built assets.
"""

from __future__ import annotations

import re
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


def test_the_page_has_no_inline_script_or_handlers() -> None:
    page = (WEB / "static" / "index.html").read_text()
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.DOTALL)
    assert scripts and all(not body.strip() for body in scripts), "inline script in index.html"
    assert all('src="' in tag for tag in re.findall(r"<script\b[^>]*>", page))
    assert not re.search(r"\son\w+\s*=", page), "an inline event handler in index.html"
    assert not re.search(r"\sstyle\s*=", page), "an inline style in index.html"


@pytest.mark.parametrize(
    ("path", "served"),
    [
        ("/", "/index.html"),
        ("/videos/abc123", "/index.html"),
        ("/profile?x=1", "/index.html"),
        ("/callback?code=1&state=2", "/index.html"),
        ("/assets/app-X.js", "/assets/app-X.js"),
        ("/config.json", "/config.json"),
        ("/missing.png", "/missing.png"),
        ("/assets/../../etc/passwd.txt", "/etc/passwd.txt"),
    ],
)
def test_routing_is_the_distributions(path: str, served: str) -> None:
    assert route(path) == served


@pytest.fixture
def site(tmp_path: Path) -> SiteServer:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "assets" / "app-1.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("no")
    server = SiteServer(tmp_path, headers={"Content-Security-Policy": "default-src 'self'"})
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


@pytest.mark.parametrize("path", ["/nothing.js", "/../secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt"])
def test_nothing_outside_the_site_and_no_masked_404(site: SiteServer, path: str) -> None:
    assert site.respond(path)[0] == 404


def test_local_config_points_everything_at_the_local_api() -> None:
    config = site_config("http://127.0.0.1:8080")
    assert set(config["apis"].values()) == {"http://127.0.0.1:8080"}
    assert config["oidc"]["authority"] == "http://127.0.0.1:8080"
    assert config["push_url"] is None
