"""The website in the deployment model: where its build is, and the headers CloudFront would send, read from
services/web/serverless.yml for a stage and its params (the local stack's server sends the same ones)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import REGION, ROOT, Site, TopologyError, compose_order, load, load_yaml
from infra.cloudformation import Template
from infra.cloudfront import headers_for, path_matches, response_headers
from infra.serverless import Variables
from tests.infra.site_rules import csp_directives

pytestmark = pytest.mark.service("tools")

# What a local stack would pass: its gateway, moto server, WebSocket server and issuer on loopback.
LOCAL = {
    "apiOrigins": "http://127.0.0.1:8080",
    "storageOrigins": "http://127.0.0.1:5000",
    "pushOrigins": "ws://127.0.0.1:8081",
    "identityOrigins": "http://127.0.0.1:8090",
    "playbackOrigins": "",
}


def site(**params: str) -> Site:
    [found] = load("local", params=params).sites
    return found


def exported_push_url() -> str:
    """The live-status WebSocket's URL that notify exports for stage local."""
    return load("local").exports["video24-notify-local-WebsocketUrl"]


def deployed_config(**params: str) -> dict[str, Any]:
    """config.json as CloudFormation would give it (the web stack's SiteConfig output), for stage local."""
    folder = ROOT / "services" / "web"
    raw = load_yaml(folder / "serverless.yml")
    config = Variables(raw, "local", REGION, raw["params"]["default"] | params, folder).resolve(raw)
    resources = config["resources"]
    stack = Template(config["service"], {}, load("local").exports, conditions=resources["Conditions"])
    return json.loads(stack.evaluate(resources["Outputs"]["SiteConfig"]["Value"]))


def test_the_site_is_the_web_services_dist_folder_with_its_security_headers():
    found = site()
    assert (found.service, found.directory) == ("web", ROOT / "services" / "web" / "dist")
    assert found.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert found.headers["X-Content-Type-Options"] == "nosniff"
    assert found.headers["X-Frame-Options"] == "DENY"
    assert found.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_only_the_embed_page_may_be_framed_and_its_other_headers_are_the_sites():
    # given the site as the local stack reads it (with its local origins)
    found = site(**LOCAL)
    [(pattern, embed)] = found.behaviours
    # then /embed/* may be framed by any site, and nothing else may
    assert pattern == "/embed/*"
    assert csp_directives(embed["Content-Security-Policy"])["frame-ancestors"] == ["*"]
    assert "X-Frame-Options" not in embed
    assert csp_directives(found.headers["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]
    assert found.headers["X-Frame-Options"] == "DENY"
    # and the embed page's CSP is the site's but for that (both from custom.pagePolicy), as are its other headers
    site_csp, embed_csp = (csp_directives(h["Content-Security-Policy"]) for h in (found.headers, embed))
    assert {k: v for k, v in embed_csp.items() if k != "frame-ancestors"} == {
        k: v for k, v in site_csp.items() if k != "frame-ancestors"
    }
    assert {k: v for k, v in embed.items() if k != "Content-Security-Policy"} == {
        k: v for k, v in found.headers.items() if k not in ("Content-Security-Policy", "X-Frame-Options")
    }
    assert headers_for("/embed/AbC", found.headers, found.behaviours) is embed
    assert headers_for("/v/AbC", found.headers, found.behaviours) is found.headers


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/embed/*", "/embed/abc", True),
        ("/embed/*", "/embed/a/b.html", True),
        ("/embed/*", "/embed/", True),
        ("embed/*", "/embed/abc", True),  # (CloudFront: the leading / is optional)
        ("/embed/*", "/embed/abc?x=1", True),
        ("/embed/*", "/embed", False),
        ("/embed/*", "/embed.html", False),
        ("/embed/*", "/EMBED/abc", False),
        ("/embed/*", "/x/embed/abc", False),
        ("/index.html", "/index.html", True),
        ("/index.html", "/indexXhtml", False),
        ("/*.js", "/assets/app.js", True),
        ("/a?c", "/abc", True),
        ("/a?c", "/abbc", False),
    ],
)
def test_path_patterns_match_as_cloudfronts_do(pattern: str, path: str, matches: bool):
    assert path_matches(pattern, path) is matches


def test_by_default_the_csp_allows_the_aws_endpoints_of_the_stacks_region():
    csp = csp_directives(site().headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert "https://*.execute-api.us-east-1.amazonaws.com" in csp["connect-src"]
    assert {"https://*.s3.amazonaws.com", "https://*.s3.us-east-1.amazonaws.com"} <= set(csp["media-src"])
    assert "https://issuer.video24.local" in csp["form-action"]


def test_by_default_the_site_listens_on_the_websocket_notify_exports_and_connects_to_no_other():
    # given the URL notify exports (wss://<api id>.execute-api.<region>.amazonaws.com/<stage>)
    url = exported_push_url()
    origin = url.rsplit("/", 1)[0]
    assert origin.startswith("wss://") and origin.endswith(".execute-api.us-east-1.amazonaws.com")
    # then config.json names it, and the CSP lets the page connect to its origin, and to no other WebSocket
    assert deployed_config()["push_url"] == url
    connect = csp_directives(site().headers["Content-Security-Policy"])["connect-src"]
    assert [source for source in connect if source.startswith(("ws://", "wss://"))] == [origin]
    # and compose deploys notify before the website, whose stack imports its URL
    order = [name for name, _ in compose_order()]
    assert order.index("notify") < order.index("web")
    assert "notify" in load_yaml(ROOT / "serverless-compose.yml")["services"]["web"]["dependsOn"]


def test_params_put_a_websocket_of_ones_own_in_place_of_the_exported_one():
    # given a WebSocket on a domain of one's own
    params = {"pushUrl": "wss://push.example.com/live", "pushOrigins": "wss://push.example.com"}
    # then config.json names it (and keeps its fields), and the CSP lets the page connect to it and no other
    config = deployed_config(**params)
    assert (config["push_url"], set(config)) == (params["pushUrl"], {"apis", "oidc", "push_url"})
    connect = csp_directives(site(**params).headers["Content-Security-Policy"])["connect-src"]
    assert [source for source in connect if source.startswith(("ws://", "wss://"))] == ["wss://push.example.com"]


def test_params_put_the_local_origins_in_the_csp_in_place_of_the_aws_ones():
    # when
    csp = csp_directives(site(**LOCAL).headers["Content-Security-Policy"])
    # then
    assert csp["connect-src"] == [
        "'self'",
        *(LOCAL[p] for p in ("apiOrigins", "pushOrigins", "storageOrigins")),
        LOCAL["identityOrigins"],
    ]
    # (data: for hls.js's subtitle <track> elements, whose cues it adds itself: `data:,WEBVTT`)
    assert csp["media-src"] == ["'self'", "blob:", "data:", LOCAL["apiOrigins"], LOCAL["storageOrigins"]]
    assert csp["img-src"] == ["'self'", "data:", "blob:", LOCAL["apiOrigins"], LOCAL["storageOrigins"]]
    assert csp["form-action"] == ["'self'", LOCAL["identityOrigins"]]
    assert csp["worker-src"] == ["'self'", "blob:"]
    # and what keeps script out stays as it is
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == csp["frame-ancestors"] == ["'none'"]
    assert not [s for sources in csp.values() for s in sources if "amazonaws.com" in s]


def test_a_playback_cdn_param_lets_media_and_posters_come_from_it():
    csp = csp_directives(
        site(playbackOrigins="https://d111111abcdef8.cloudfront.net").headers["Content-Security-Policy"]
    )
    for directive in ("media-src", "img-src", "connect-src"):
        assert "https://d111111abcdef8.cloudfront.net" in csp[directive]


def test_response_headers_are_written_as_cloudfront_writes_them():
    policy = {
        "SecurityHeadersConfig": {
            "StrictTransportSecurity": {
                "AccessControlMaxAgeSec": "31536000",
                "IncludeSubdomains": "true",
                "Preload": True,
                "Override": True,
            },
            "XSSProtection": {"Protection": True, "ModeBlock": True, "Override": True},
            "FrameOptions": {"FrameOption": "SAMEORIGIN", "Override": True},
        },
        "CustomHeadersConfig": {"Items": [{"Header": "Permissions-Policy", "Value": "camera=()", "Override": True}]},
    }
    assert response_headers(policy) == {
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
        "X-Frame-Options": "SAMEORIGIN",
        "X-XSS-Protection": "1; mode=block",
        "Permissions-Policy": "camera=()",
    }
    assert response_headers({"SecurityHeadersConfig": {"XSSProtection": {"Protection": False}}}) == {
        "X-XSS-Protection": "0"
    }


SITE_WITHOUT_HEADERS = """
service: video24-flow
custom:
  site:
    directory: dist
provider:
  name: aws
resources:
  Resources:
    Site:
      Type: AWS::CloudFront::Distribution
      Properties:
        DistributionConfig:
          DefaultCacheBehavior:
            ViewerProtocolPolicy: redirect-to-https
"""


def test_a_site_without_a_response_headers_policy_of_its_own_is_refused(tmp_path: Path):
    (tmp_path / "services" / "flow").mkdir(parents=True)
    (tmp_path / "serverless-compose.yml").write_text("services:\n  flow:\n    path: services/flow\n")
    (tmp_path / "services" / "flow" / "serverless.yml").write_text(SITE_WITHOUT_HEADERS)
    with pytest.raises(TopologyError, match=r"custom\.site needs one distribution with a response headers policy"):
        load("dev", root=tmp_path)
