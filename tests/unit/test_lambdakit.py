"""The shared edge: settings read when first used, and HTTP routes that get a parsed request and whose
refusals become their status codes in one place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from lambdakit.http import Request, route
from lambdakit.refusals import Conflict, Invalid, NotFound, TooLarge
from lambdakit.settings import Setting, Settings, SettingsError, flag, positive
from tests.integration.api import api_event

pytestmark = pytest.mark.service("shared")


class Example(Settings):
    bucket = Setting("BUCKET")
    limit = Setting("LIMIT", int, default=10, check=positive)
    folder = Setting("FOLDER", Path, default=Path("/tmp"))
    audience = Setting("AUDIENCE", str, default=None)
    strict = Setting("STRICT", flag, default=False)


def test_a_setting_is_read_parsed_and_checked_when_first_used():
    settings = Example({"BUCKET": "b", "LIMIT": "25", "FOLDER": "/work", "STRICT": "true"})
    assert settings.read == frozenset()
    assert (settings.bucket, settings.limit, settings.folder, settings.strict) == ("b", 25, Path("/work"), True)
    assert settings.read == {"BUCKET", "LIMIT", "FOLDER", "STRICT"}


def test_defaults_stand_in_for_unset_or_empty_optional_settings():
    settings = Example({"AUDIENCE": ""})
    assert (settings.limit, settings.audience, settings.folder) == (10, None, Path("/tmp"))


@pytest.mark.parametrize(
    ("environ", "name", "says"),
    [
        ({}, "bucket", "BUCKET is not set"),
        ({"BUCKET": ""}, "bucket", "BUCKET is empty"),
        ({"LIMIT": "ten"}, "limit", "LIMIT='ten'"),
        ({"LIMIT": "0"}, "limit", "must be more than 0"),
        ({"STRICT": "maybe"}, "strict", "must be true or false"),
    ],
)
def test_a_missing_or_bad_value_is_an_error_that_names_the_variable(environ: dict, name: str, says: str):
    with pytest.raises(SettingsError, match=says):
        getattr(Example(environ), name)


def test_a_settings_class_lists_what_it_knows():
    assert {s.name for s in Example.declared().values()} == {"BUCKET", "LIMIT", "FOLDER", "AUDIENCE", "STRICT"}


class Body(BaseModel):
    title: str = Field(min_length=1)


class Params(BaseModel):
    id: str = Field(pattern=r"^[a-z]+$")
    limit: int = 5


class Answer(BaseModel):
    id: str
    title: str
    caller: str


@route(status=201, body=Body, params=Params, answers=Answer)
def create(request: Request[Body, Params]) -> Answer:
    """Make a thing."""
    if request.body.title == "boom":
        raise RuntimeError("internal detail")
    return Answer(id=request.params.id, title=request.body.title, caller=request.sub)


def call(handler, **kwargs) -> tuple[int, dict | None]:
    response = handler(api_event("POST", "/things/abc", **kwargs), None)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def test_a_route_gets_the_verified_caller_its_parameters_and_its_body():
    status, body = call(create, sub="alice", body={"title": "t"}, path_parameters={"id": "abc"})
    assert (status, body) == (201, {"id": "abc", "title": "t", "caller": "alice"})


@pytest.mark.parametrize(
    ("kwargs", "status", "says"),
    [
        ({"sub": None, "body": {"title": "t"}, "path_parameters": {"id": "abc"}}, 401, "Unauthorized"),
        ({"raw_body": "not json", "path_parameters": {"id": "abc"}}, 400, "JSON object"),
        ({"body": {"title": ""}, "path_parameters": {"id": "abc"}}, 400, "title"),
        ({"body": {"title": "t", "extra": 1}, "path_parameters": {"id": "abc"}}, 201, None),
        ({"body": {"title": "t"}, "path_parameters": {"id": "ABC"}}, 400, "id"),
        ({"body": {"title": "t"}, "path_parameters": {"id": "abc"}, "query": {"limit": "x"}}, 400, "limit"),
        ({"body": {"title": "boom"}, "path_parameters": {"id": "abc"}}, 500, "Internal Server Error"),
    ],
    ids=["no caller", "not JSON", "invalid body", "extra body field (model allows)", "bad path", "bad query", "bug"],
)
def test_what_a_route_cannot_take_is_refused_in_words(kwargs: dict, status: int, says: str | None):
    answered, body = call(create, **kwargs)
    assert answered == status
    if says:
        assert says in body["message"]
        assert "internal detail" not in body["message"]


@pytest.mark.parametrize(("refusal", "status"), [(Invalid, 400), (NotFound, 404), (Conflict, 409), (TooLarge, 413)])
def test_each_refusal_of_the_logic_has_its_status(refusal: type[Exception], status: int):
    @route()
    def refusing(request: Request[None, None]) -> None:
        raise refusal("because")

    assert call(refusing) == (status, {"message": "because"})


def test_a_route_that_answers_nothing_is_a_204_and_its_declaration_is_kept():
    @route(status=204)
    def nothing(request: Request[None, None]) -> None:
        """Do it."""

    response = nothing(api_event("DELETE", "/x"), None)
    assert (response["statusCode"], response["body"]) == (204, "")
    assert create.route.summary == "Make a thing." and create.route.body is Body and create.route.status == 201


def test_a_public_route_has_no_caller_and_may_answer_text_of_its_own_type():
    from lambdakit.http import Content

    @route(public=True, media_types=("text/vtt",))
    def track(request: Request[None, None]) -> Content:
        return Content("WEBVTT\n", "text/vtt", {"cache-control": "private, max-age=60"})

    response = track(api_event("GET", "/t", sub=None), None)
    assert response == {
        "statusCode": 200,
        "headers": {"cache-control": "private, max-age=60", "content-type": "text/vtt"},
        "body": "WEBVTT\n",
    }
    assert track.route.public and track.route.media_types == ("text/vtt",)  # type: ignore[attr-defined]
