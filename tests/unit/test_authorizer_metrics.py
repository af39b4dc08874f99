"""The authorizer counts each refusal in AuthorizerRefusals by a short reason code (an EMF line it writes with
the standard library), and logs it with the Lambda request id."""

from __future__ import annotations

import json
import logging
import time

import pytest

from identity import deps
from identity.handlers import authorizer
from identity.logic.keys import KeyRing
from identity.logic.tokens import TokenPolicy, Verifier
from lambdakit.metrics import AUTHORIZER_REFUSALS
from tests.emf import emitted, values
from tests.tokens import AUDIENCE, ISSUER, Forge

pytestmark = pytest.mark.service("auth")

ISSUING, STRANGER = Forge.generate(), Forge.generate()


class Context:
    aws_request_id = "authorizer-request-1"


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch):
    verifier = Verifier(KeyRing(ISSUING.jwks), TokenPolicy(issuer=ISSUER, audience=AUDIENCE))
    monkeypatch.setattr(deps, "authorizer", lambda: verifier)


CODES = {
    "NO_TOKEN": None,
    "MALFORMED": "Bearer this-is-not-a-jwt",
    "UNKNOWN_KEY": "Bearer " + STRANGER.token("alice"),
    "BAD_SIGNATURE": "Bearer " + STRANGER.sign(ISSUING.claims(), kid=ISSUING.kid),
    "EXPIRED": "Bearer " + ISSUING.token("alice", exp=int(time.time()) - 120),
    "NOT_YET_VALID": "Bearer " + ISSUING.token("alice", nbf=int(time.time()) + 600),
    "MISSING_CLAIM": "Bearer " + ISSUING.token("alice", sub=None),
    "WRONG_ISSUER": "Bearer " + ISSUING.token("alice", iss="https://evil.example/"),
    "WRONG_AUDIENCE": "Bearer " + ISSUING.token("alice", aud="another-api"),
}


def call(authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    event = {"version": "2.0", "type": "REQUEST", "routeKey": "GET /me", "headers": headers}
    with pytest.raises(authorizer.Unauthorized):
        authorizer.handler(event, Context())


@pytest.mark.parametrize(("code", "authorization"), CODES.items(), ids=CODES.keys())
def test_each_refusal_is_counted_once_by_its_code(
    code: str, authorization: str | None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
):
    # When a token that proves nothing is refused
    with caplog.at_level(logging.INFO, logger="authorizer"):
        call(authorization)
    # Then one AuthorizerRefusals of the auth service carries the reason's code
    assert values(emitted(capsys), AUTHORIZER_REFUSALS) == [(1.0, {"service": "auth", "reason": code})]
    # And the log line says it, with the Lambda request id
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "authorizer"]
    assert (line["code"], line["function_request_id"], line["route"]) == (code, "authorizer-request-1", "GET /me")


def test_a_token_of_another_algorithm_is_counted_as_such(capsys: pytest.CaptureFixture[str]):
    import jwt

    call("Bearer " + jwt.encode(ISSUING.claims(), None, algorithm="none", headers={"kid": ISSUING.kid}))
    assert values(emitted(capsys), AUTHORIZER_REFUSALS) == [(1.0, {"service": "auth", "reason": "ALGORITHM"})]


def test_an_authorized_request_counts_no_refusal(capsys: pytest.CaptureFixture[str]):
    headers = {"Authorization": f"Bearer {ISSUING.token('alice')}"}
    event = {"version": "2.0", "type": "REQUEST", "routeKey": "GET /me", "headers": headers}
    assert authorizer.handler(event, Context())["isAuthorized"] is True
    assert emitted(capsys) == []
