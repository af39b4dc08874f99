"""A deployment's description (infra/deployment.py): built from a deployed stage's stack outputs by
tools/deployment.py, read by the e2e and smoke tests; and the smoke's test user (tests/smoke_user.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import boto3
import jwt
import pytest
from moto import mock_aws

from infra import LOCAL_CREDENTIALS, load
from infra.deployment import Deployment, DeploymentError, from_outputs
from tests.smoke_user import Forged, SmokeUserError, smoke_user
from tools import deployment as tool

pytestmark = pytest.mark.service("tools")

STAGE, REGION = "dev", "eu-west-1"
ISSUER = {"issuer": "https://issuer.example/", "audience": "video24-api", "client_id": "",
          "jwks_url": "https://issuer.example/jwks"}  # fmt: skip


@cache
def topology() -> Any:
    return load(STAGE)


def outputs(issuer: dict[str, str] = ISSUER) -> dict[str, dict[str, str]]:
    """What the services' stacks give for stage dev (their serverless.yml's Outputs), by stack name."""
    api = "https://{}.execute-api.eu-west-1.amazonaws.com"
    return {
        "video24-auth-dev": {"ApiUrl": api.format("auth"), "Issuer": json.dumps(issuer)},
        "video24-upload-dev": {"ApiUrl": api.format("upload"), "UploadsBucketName": "video24-upload-dev-uploads"},
        "video24-transcode-dev": {"TranscodedBucketName": "video24-transcode-dev-transcoded"},
        "video24-metadata-dev": {"ApiUrl": api.format("videos"), "CatalogTableName": "video24-metadata-dev-catalog"},
        "video24-notify-dev": {"WebsocketUrl": "wss://ws.execute-api.eu-west-1.amazonaws.com/dev"},
        "video24-web-dev": {"SiteUrl": "https://d111.cloudfront.net"},
    }


def test_a_deployed_stage_is_described_from_its_stacks_outputs():
    described = from_outputs(topology(), REGION, lambda stack: outputs()[stack])
    assert described.apis == {"upload": "https://upload.execute-api.eu-west-1.amazonaws.com",
                              "videos": "https://videos.execute-api.eu-west-1.amazonaws.com",
                              "me": "https://auth.execute-api.eu-west-1.amazonaws.com"}  # fmt: skip
    assert (described.websocket, described.site) == ("wss://ws.execute-api.eu-west-1.amazonaws.com/dev",
                                                     "https://d111.cloudfront.net")  # fmt: skip
    assert described.issuer.issuer == "https://issuer.example/" and described.issuer.jwks_url.endswith("/jwks")
    assert described.buckets == {
        "uploads": "video24-upload-dev-uploads",
        "transcoded": "video24-transcode-dev-transcoded",
    }
    assert described.tables == {"catalog": "video24-metadata-dev-catalog"}
    # every queue of the stage, DLQs included, as the templates name them
    assert described.queues and all(q.endswith(("-dlq", "-queue")) or "-dev-" in q for q in described.queues)
    assert any(q.endswith("dlq") for q in described.queues)
    # and the JSON the smoke tests read gives it back
    assert Deployment.from_json(json.loads(json.dumps(described.to_json()))) == described


def test_each_route_goes_to_the_api_of_the_service_that_serves_it():
    described = from_outputs(topology(), REGION, lambda stack: outputs()[stack])
    assert described.url("/uploads/abc/parts").startswith("https://upload.")
    assert described.url("/videos/abc").startswith("https://videos.")
    assert described.url("/playback/g/master.m3u8").startswith("https://videos.")
    assert described.url("/me").startswith("https://auth.")
    assert described.url("/meetings").startswith("https://videos.")  # not /me: no API serves it
    # and every route the services declare, to its own service's API (function keys are service-function)
    hosts = {"upload": "https://upload.", "metadata": "https://videos.", "auth": "https://auth."}
    for route in topology().routes:
        path = route.path.replace("{", "").replace("}", "").replace("+", "")
        service = route.function.split("-", 1)[0]
        assert described.url(path).startswith(hosts[service]), f"{route.method} {route.path} -> {described.url(path)}"


@pytest.mark.parametrize(
    ("stack", "key", "said"),
    [("video24-upload-dev", "ApiUrl", "video24-upload-dev has no output ApiUrl"),
     ("video24-auth-dev", "Issuer", "video24-auth-dev has no output Issuer")],
)  # fmt: skip
def test_a_missing_output_is_named(stack: str, key: str, said: str):
    given = outputs()
    del given[stack][key]
    with pytest.raises(DeploymentError, match=said):
        from_outputs(topology(), REGION, lambda name: given[name])


def test_a_description_without_what_a_test_needs_is_refused_in_words():
    with pytest.raises(DeploymentError, match="no 'apis'"):
        Deployment.from_json({"stage": "dev", "region": REGION, "issuer": ISSUER})


@pytest.fixture
def cloudformation(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("cloudformation", region_name=REGION)


def _deploy(cloudformation: Any, stack: str, values: dict[str, str]) -> None:
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {key: {"Value": value} for key, value in values.items()}}  # fmt: skip
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template))


def test_the_tool_writes_the_description_of_the_stacks_cloudformation_has(cloudformation: Any, tmp_path, capsys):
    for stack, values in outputs().items():
        _deploy(cloudformation, stack, values)
    out = tmp_path / "dev.json"
    assert tool.main(["--stage", STAGE, "--region", REGION, "--out", str(out)]) == 0
    assert Deployment.from_json(json.loads(out.read_text())).apis["me"].startswith("https://auth.")


def test_the_tool_says_which_stack_is_missing(cloudformation: Any, capsys):
    _deploy(cloudformation, "video24-auth-dev", outputs()["video24-auth-dev"])
    assert tool.main(["--stage", STAGE, "--region", REGION]) == 1
    assert "no stack video24-upload-dev: deploy it first" in capsys.readouterr().err


# --- the smoke's test user ---------------------------------------------------------------------------------


def description(issuer: dict[str, str] = ISSUER) -> dict[str, Any]:
    return from_outputs(topology(), REGION, lambda stack: outputs(issuer)[stack]).to_json()


def test_a_deployed_stage_without_a_configured_test_user_is_refused_in_words():
    with pytest.raises(SmokeUserError, match="set SMOKE_USERNAME and SMOKE_PASSWORD: a test user of https://issuer"):
        smoke_user(description(), {})
    with pytest.raises(SmokeUserError, match="SMOKE_PASSWORD is not"):
        smoke_user(description(), {"SMOKE_USERNAME": "smoke"})
    with pytest.raises(SmokeUserError, match="set SMOKE_CLIENT_ID"):
        smoke_user(description(), {"SMOKE_USERNAME": "smoke", "SMOKE_PASSWORD": "pw"})


def test_a_cognito_test_user_signs_in_with_user_password_auth(cloudformation: Any):
    idp = boto3.client("cognito-idp", region_name=REGION)
    pool = idp.create_user_pool(PoolName="video24-dev")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="smoke",
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]  # fmt: skip
    idp.admin_create_user(UserPoolId=pool, Username="smoke", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="smoke", Password="Sm0ke!pass", Permanent=True)
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool}"
    described = description(ISSUER | {"issuer": issuer, "audience": "", "client_id": client["ClientId"]})
    user = smoke_user(described, {"SMOKE_USERNAME": "smoke", "SMOKE_PASSWORD": "Sm0ke!pass"})
    claims = jwt.decode(user.token(), options={"verify_signature": False})
    assert claims["iss"] == issuer and claims["token_use"] == "access" and claims["client_id"] == client["ClientId"]
    assert user.token() == user.token()  # kept until it is about to expire


@pytest.fixture
def token_endpoint() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    forms: list[dict[str, list[str]]] = []

    class Issuer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._json({"issuer": base, "token_endpoint": f"{base}/oauth/token"})

        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            forms.append(form)
            if form["password"] != ["right"]:
                self._json({"error": "invalid_grant"}, 403)
                return
            self._json({"access_token": f"token-of-{form['username'][0]}", "expires_in": 86400})

        def _json(self, body: dict[str, Any], status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Issuer)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield base, forms
    server.shutdown()


def test_another_issuers_test_user_signs_in_with_the_password_grant(token_endpoint):
    base, forms = token_endpoint
    described = description(ISSUER | {"issuer": base + "/", "client_id": "app"})
    env = {"SMOKE_USERNAME": "smoke", "SMOKE_PASSWORD": "right", "SMOKE_CLIENT_SECRET": "s3"}
    assert smoke_user(described, env).token() == "token-of-smoke"
    [form] = forms
    assert {k: v[0] for k, v in form.items()} == {
        "grant_type": "password", "username": "smoke", "password": "right", "client_id": "app",
        "client_secret": "s3", "audience": "video24-api", "scope": "openid profile email"}  # fmt: skip
    with pytest.raises(SmokeUserError, match="refused the test user smoke: 403"):
        smoke_user(described, env | {"SMOKE_PASSWORD": "wrong"}).token()


def test_the_local_stack_gives_a_user_of_the_runs_own_from_its_issuers_key(tmp_path):
    from tests.tokens import Forge

    forge = Forge.generate(kid="local-1", issuer="https://issuer.video24.local/")
    key = tmp_path / "issuer.pem"
    from cryptography.hazmat.primitives import serialization

    key.write_bytes(forge.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))  # fmt: skip
    local = description() | {"issuer": ISSUER | {"issuer": forge.issuer, "key_file": str(key), "kid": "local-1"}}
    user = smoke_user(local, {})
    assert isinstance(user, Forged) and user.name.startswith("smoke-")
    claims = jwt.decode(user.token(), forge.key.public_key(), algorithms=["RS256"], audience="video24-api")
    assert claims["sub"] == f"sub-{user.name}" and jwt.get_unverified_header(user.token())["kid"] == "local-1"
