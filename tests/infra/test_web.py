"""The website's stack as packaged: its routing function, its config.json, the headers the local stack reads from
it, and the deploy plugin (tools/serverless/site-deploy) publishing a build to a moto server as it would to AWS."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

import infra
from infra.cloudformation import Template as Stack
from infra.cloudfront import response_headers
from tests.infra.conftest import ROOT, load

SLS = ROOT / "node_modules" / ".bin" / "serverless"
STACK = "video24-web-ci"
CONFIG_FIELDS = {
    "apis": {"upload", "videos", "me"},
    "oidc": {"authority", "client_id", "scope", "extra_query_params", "metadata_seed"},
}


def route(uris: list[str]) -> list[str]:
    """The URIs the packaged viewer-request function hands to the origin, run in Node as CloudFront would run it."""
    code = load("web").props("SiteRoutingFunction")["FunctionCode"]
    script = f"{code}\nconsole.log(JSON.stringify({json.dumps(uris)}.map((uri) => handler({{request: {{uri}}}}).uri)))"
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


def test_pages_of_the_app_get_index_html_and_files_keep_their_path():
    pages = ["/", "/videos", "/videos/3f2a0b1c", "/videos/3f2a0b1c/", "/callback", "/me"]
    files = ["/index.html", "/config.json", "/app.js", "/app.css", "/assets/hls-3KXQ2P7M.js", "/missing.png"]
    assert route(pages) == ["/index.html"] * len(pages)
    assert route(files) == files  # a missing file stays missing (S3's 403), not a page


def test_the_embed_page_is_embed_html_and_only_it_may_be_framed():
    embeds = ["/embed/AbC_-1234567890123456789abc", "/embed/AbC_-1234567890123456789abc/", "/embed/"]
    assert route(embeds) == ["/embed.html"] * len(embeds)
    assert route(["/embed", "/v/AbC_-1234567890123456789abc", "/embed.html"]) == [
        "/index.html",
        "/index.html",
        "/embed.html",
    ]
    # its behaviour has the routing function, and a response headers policy of its own that lets any site frame it
    config = load("web").props("SiteDistribution")["DistributionConfig"]
    [embed] = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/embed/*"]
    assert embed["ResponseHeadersPolicyId"] == {"Ref": "EmbedResponseHeadersPolicy"}
    assert [f["FunctionARN"] for f in embed["FunctionAssociations"]] == [
        {"Fn::GetAtt": ["SiteRoutingFunction", "FunctionARN"]}
    ]
    others = [config["DefaultCacheBehavior"], *(b for b in config["CacheBehaviors"] if b is not embed)]
    assert {json.dumps(b["ResponseHeadersPolicyId"]) for b in others} == {'{"Ref": "SiteResponseHeadersPolicy"}'}


def test_config_json_is_the_shape_the_front_end_reads_from_the_apis_exports_and_the_oidc_params():
    web = load("web")
    text, variables = web.document["Outputs"]["SiteConfig"]["Value"]["Fn::Sub"]
    imports = {name: value["Fn::ImportValue"] for name, value in variables.items() if "Fn::ImportValue" in value}
    assert imports == {
        "UploadApi": "video24-upload-ci-ApiUrl",
        "VideosApi": "video24-metadata-ci-ApiUrl",
        "MeApi": "video24-auth-ci-ApiUrl",
    }
    # the live-status WebSocket's URL: notify's, unless the pushUrl param names one
    assert variables["PushUrl"] == {"Fn::If": ["HasPushUrl", "", {"Fn::ImportValue": "video24-notify-ci-WebsocketUrl"}]}
    # when: CloudFormation substitutes the imports
    for name in variables:
        text = text.replace(f"${{{name}}}", "wss://push.example/ci" if name == "PushUrl" else f"https://{name}.example")
    config = json.loads(text)
    # then
    assert set(config) == {"apis", "oidc", "push_url"}
    assert {field: set(config[field]) for field in CONFIG_FIELDS} == CONFIG_FIELDS
    assert config["apis"] == {
        "upload": "https://UploadApi.example",
        "videos": "https://VideosApi.example",
        "me": "https://MeApi.example",
    }
    assert config["oidc"]["scope"] == "openid profile email"
    assert config["oidc"]["extra_query_params"] == config["oidc"]["metadata_seed"] == {}
    assert config["push_url"] == "wss://push.example/ci"
    # and each service exports its API's URL under the name imported
    for service in ("upload", "metadata", "auth"):
        output = load(service).document["Outputs"]["ApiUrl"]
        assert output["Export"]["Name"] == f"video24-{service}-ci-ApiUrl"
        assert output["Value"] == {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    socket = load("notify").document["Outputs"]["WebsocketUrl"]
    assert socket["Export"]["Name"] == "video24-notify-ci-WebsocketUrl"
    assert socket["Value"]["Fn::Sub"].startswith("wss://${WebsocketsApi}.execute-api.")


def test_the_local_stack_reads_the_same_headers_cloudfront_sends():
    """infra's reading of serverless.yml (for stage ci) gives the headers of the template osls packaged, once
    CloudFormation fills in the CSP's WebSocket origin (from the same exports)."""
    web, topology = load("web"), infra.load("ci")
    stack = Stack("video24-web-ci", {}, topology.exports, conditions=web.document["Conditions"])
    policy, embed = (
        web.props(p)["ResponseHeadersPolicyConfig"] for p in ("SiteResponseHeadersPolicy", "EmbedResponseHeadersPolicy")
    )
    [site] = topology.sites
    assert site.headers == response_headers(stack.evaluate(policy))
    assert site.behaviours == (("/embed/*", response_headers(stack.evaluate(embed))),)
    assert set(site.headers) >= {
        "Content-Security-Policy",
        "Strict-Transport-Security",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
    }


# --- The deploy plugin, on a moto server --------------------------------------------------


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    """A moto server with the website's stack as a deploy leaves it: its bucket, distribution and outputs."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    session = boto3.session.Session(region_name="us-east-1", **credentials)
    cloudfront = session.client("cloudfront", endpoint_url=endpoint)
    behaviour = {
        "TargetOriginId": "site",
        "ViewerProtocolPolicy": "redirect-to-https",
        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    }
    origin = {
        "Id": "site",
        "DomainName": "site.s3.us-east-1.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "site",
            "Comment": "",
            "Enabled": True,
            "DefaultCacheBehavior": behaviour,
            "Origins": {"Quantity": 1, "Items": [origin]},
        }
    )["Distribution"]["Id"]
    config = {
        "apis": {"upload": "https://u.example", "videos": "https://v.example", "me": "https://m.example"},
        "oidc": {
            "authority": "https://issuer.example/",
            "client_id": "web",
            "scope": "openid profile email",
            "extra_query_params": {"audience": "video24-api"},
            "metadata_seed": {},
        },
        "push_url": None,
    }
    template = {
        "Resources": {"SiteBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "video24-site"}}},
        "Outputs": {
            "SiteBucketName": {"Value": {"Ref": "SiteBucket"}},
            "SiteDistributionId": {"Value": distribution},
            "SiteConfig": {"Value": json.dumps(config)},
        },
    }
    session.client("cloudformation", endpoint_url=endpoint).create_stack(
        StackName=STACK, TemplateBody=json.dumps(template)
    )
    env = {
        "PATH": os.environ["PATH"],
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    yield {
        "env": env,
        "s3": session.client("s3", endpoint_url=endpoint),
        "cloudfront": cloudfront,
        "distribution": distribution,
        "config": config,
    }
    server.stop()


def serverless(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`serverless <args> --stage ci` in a copy of services/web (its dist/ is `folder`'s)."""
    (folder / "serverless.yml").write_text((ROOT / "services" / "web" / "serverless.yml").read_text())
    if not (folder / "node_modules").exists():
        (folder / "node_modules").symlink_to(ROOT / "node_modules")
    command = [str(SLS), *args, "--stage", "ci"]
    return subprocess.run(command, cwd=folder, env=env | {"HOME": str(folder)}, capture_output=True, text=True)


def publish(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return serverless(folder, env, "publish-site", "--verbose")


def test_the_deploy_uploads_the_build_and_config_json_and_invalidates_the_pages(aws: dict[str, Any], tmp_path: Path):
    # given a build
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "index.html").write_text('<!doctype html><script src="/app.js" type="module"></script>')
    (tmp_path / "dist" / "embed.html").write_text('<!doctype html><script src="/app.js" type="module"></script>')
    (tmp_path / "dist" / "app.js").write_text("export {};")
    (tmp_path / "dist" / "app.css").write_text("body {}")
    (tmp_path / "dist" / "assets" / "hls-3KXQ2P7M.js").write_text("export {};")
    (tmp_path / "dist" / ".DS_Store").write_text("")
    # when
    done = publish(tmp_path, aws["env"])
    # then every file is there with its type and caching, and config.json is the stack's
    assert done.returncode == 0, done.stdout + done.stderr
    s3, bucket = aws["s3"], "video24-site"
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert stored == {"index.html", "embed.html", "app.js", "app.css", "assets/hls-3KXQ2P7M.js", "config.json"}
    heads = {key: s3.head_object(Bucket=bucket, Key=key) for key in stored}
    assert heads["index.html"]["ContentType"] == "text/html; charset=utf-8"
    assert (
        heads["app.js"]["ContentType"]
        == heads["assets/hls-3KXQ2P7M.js"]["ContentType"]
        == ("text/javascript; charset=utf-8")
    )
    assert heads["app.css"]["ContentType"] == "text/css; charset=utf-8"
    assert heads["assets/hls-3KXQ2P7M.js"]["CacheControl"] == "public, max-age=31536000, immutable"
    pages = ("index.html", "embed.html", "app.js", "app.css", "config.json")
    assert {heads[k]["CacheControl"] for k in pages} == {"no-cache"}
    assert json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read()) == aws["config"]
    cloudfront, distribution = aws["cloudfront"], aws["distribution"]
    [invalidation] = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]["Items"]
    paths = cloudfront.get_invalidation(DistributionId=distribution, Id=invalidation["Id"])["Invalidation"]
    assert sorted(paths["InvalidationBatch"]["Paths"]["Items"]) == ["/config.json", "/embed.html", "/index.html"]


def test_the_deploy_refuses_without_a_build(aws: dict[str, Any], tmp_path: Path):
    done = publish(tmp_path, aws["env"])
    assert done.returncode != 0
    assert "index.html is missing: build the site first" in done.stdout + done.stderr


def test_packaging_refuses_params_that_would_break_config_json(tmp_path: Path):
    """Offline: a param that is not JSON where config.json needs it fails the package, not the deployed site."""
    env = {"PATH": os.environ["PATH"]}
    assert serverless(tmp_path, env, "package").returncode == 0
    done = serverless(tmp_path, env, "package", "--param=oidcExtraQueryParams={audience: api}")
    assert done.returncode != 0
    assert "config.json would be broken" in done.stdout + done.stderr
