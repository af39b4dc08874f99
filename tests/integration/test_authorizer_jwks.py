"""The authorizer against a real JWKS endpoint on loopback, configured from its environment."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from identity.handlers import authorizer
from tests.tokens import AUDIENCE, ISSUER, Forge

pytestmark = pytest.mark.service("auth")

ISSUING = Forge.generate()
AUTH_DIR = Path(__file__).resolve().parents[2] / "services" / "auth"


class JwksServer:
    def __init__(self) -> None:
        self.hits, self.down = 0, False
        self.published = [ISSUING]  # the issuer's keys in its JWKS: two while it rotates
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                if outer.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps({"keys": [key for forge in outer.published for key in forge.jwks()["keys"]]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def jwks(monkeypatch: pytest.MonkeyPatch) -> Iterator[JwksServer]:
    server = JwksServer()
    for name, value in {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWKS_URL": server.url}.items():
        monkeypatch.setenv(name, value)
    yield server  # (the services' cached wiring is dropped around every integration test)
    server.server.shutdown()


def call(token: str) -> dict:
    return authorizer.handler({"headers": {"authorization": f"Bearer {token}"}, "routeKey": "GET /me"}, None)


def test_keys_are_fetched_once_and_survive_an_outage(jwks: JwksServer):
    # Given the authorizer has verified one token (and so fetched the JWKS)
    assert call(ISSUING.token("alice"))["isAuthorized"] is True
    # When the JWKS endpoint goes down
    jwks.down = True
    # Then tokens signed with the known key keep passing, without asking the endpoint again
    for user in ("bob", "carol", "dave"):
        assert call(ISSUING.token(user))["context"]["username"] == user
    assert jwks.hits == 1


def test_during_a_rotation_each_published_key_verifies_only_its_own_kids_tokens(
    jwks: JwksServer, capsys: pytest.CaptureFixture[str]
):
    # Given the issuer publishes its current key and the next one side by side
    following = Forge.generate()
    jwks.published = [ISSUING, following]
    # Then tokens signed by either pass, from one fetch of the JWKS
    assert call(ISSUING.token("alice"))["context"]["username"] == "alice"
    assert call(following.token("bob"))["context"]["username"] == "bob"
    assert jwks.hits == 1
    # And the kid picks the key: a token signed by one key under the other's kid is refused, both ways
    capsys.readouterr()
    for signer, named in ((ISSUING, following), (following, ISSUING)):
        with pytest.raises(authorizer.Unauthorized):
            call(signer.sign(signer.claims("mallory"), kid=named.kid))
    refusals = [json.loads(line)["reason"] for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert refusals == ["BAD_SIGNATURE", "BAD_SIGNATURE"]
    assert jwks.hits == 1


def test_a_flood_of_unknown_kids_costs_one_fetch(jwks: JwksServer):
    # Given a warm authorizer
    call(ISSUING.token("alice"))
    # When 200 tokens arrive with kids the issuer never had
    stranger = Forge.generate()
    for n in range(200):
        with pytest.raises(authorizer.Unauthorized):
            call(stranger.sign(stranger.claims("mallory"), kid=f"kid-{n}"))
    # Then the JWKS endpoint was asked at most once more within the minute
    assert jwks.hits <= 2


def test_the_authorizer_does_not_import_boto3_or_pydantic(jwks: JwksServer):
    # When the authorizer is imported in a fresh interpreter, builds its verifier and refuses a token
    code = (
        "import sys\n"
        "from identity.handlers import authorizer\n"
        "try:\n    authorizer.handler({'headers': {'authorization': 'Bearer x.y.z'}}, None)\n"
        "except authorizer.Unauthorized:\n    pass\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'pydantic', 'aws_lambda_powertools') if m in sys.modules))"
    )
    env = {"PYTHONPATH": str(AUTH_DIR), "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "JWKS_URL": jwks.url}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    # Then none of the heavy modules came with it (the line before is the refusal's metric, printed as EMF)
    *metric, modules = done.stdout.strip().splitlines()
    assert modules == "[]", done.stderr
    assert [json.loads(line)["reason"] for line in metric] == ["MALFORMED"]
