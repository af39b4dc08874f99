"""The HTTP edge takes bodies as they are sent: JSON in UTF-8, of bounded depth, of the declared types (no
"10" for 10, no "yes" for true), and text people read without characters that hide or reorder it."""

from __future__ import annotations

import base64
import json
import re

import pytest
from pydantic import ValidationError

from contracts.api import CompleteUpload, CreateUpload, UpdateProfile, UploadForm
from lambdakit.http import Request, route
from tests.integration.api import answer, api_event

pytestmark = pytest.mark.service("shared")

VIDEO = {"filename": "holiday.mp4", "content_type": "video/mp4", "size": 10}


@route(status=201, body=CreateUpload, answers=UploadForm)
def create(request: Request[CreateUpload, None]) -> UploadForm:
    """Echo the upload's name, to see what the route got."""
    body = request.body
    return UploadForm(video_id="v", url=body.filename, fields={}, expires_in=body.size, max_size=body.size)


@route(body=UpdateProfile)
def update(request: Request[UpdateProfile, None]) -> None:
    """Take a profile change."""


@route(body=CompleteUpload)
def complete(request: Request[CompleteUpload, None]) -> None:
    """Take the parts of an upload."""


def refused(handler, *, base64_encoded: bool = False, **event) -> str:
    """The message of the 400 the handler answers (anything else fails)."""
    sent = api_event("POST", "/x", **event) | {"isBase64Encoded": base64_encoded}
    status, body = answer(handler(sent, None))
    assert status == 400, body
    assert isinstance(body, dict) and set(body) == {"message"} and isinstance(body["message"], str)
    return body["message"]


@pytest.mark.parametrize(
    "raw",
    [
        '{"filename":' + "[" * 100_000,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        '{"filename": ' + "[" * 3_000 + "]" * 3_000 + ', "content_type": "video/mp4", "size": 1}',
    ],
    ids=["100,000 open brackets", "5,000 nested objects", "3,000 nested lists, closed"],
)
def test_deeply_nested_json_is_a_400_not_a_500(raw: str):
    assert "JSON" in refused(create, raw_body=raw)
    assert "JSON" in refused(update, raw_body=raw)
    assert "JSON" in refused(complete, raw_body=raw)


@pytest.mark.parametrize(
    ("handler", "body", "field"),
    [
        (create, VIDEO | {"size": "10"}, "size"),
        (create, VIDEO | {"size": True}, "size"),
        (create, VIDEO | {"size": 10.0}, "size"),
        (create, VIDEO | {"filename": 12}, "filename"),
        (update, {"email_notifications": "yes"}, "email_notifications"),
        (update, {"email_notifications": 1}, "email_notifications"),
        (complete, {"upload_id": "u", "parts": [{"part_number": "1", "etag": "e"}]}, "parts.0.part_number"),
    ],
    ids=["size as text", "size as true", "size as 10.0", "name as number", "yes for true", "1 for true", "part text"],
)
def test_a_value_of_another_type_is_refused_not_coerced(handler, body: dict, field: str):
    assert refused(handler, body=body).startswith(f"{field}: ")


def test_a_body_that_is_not_utf8_is_refused_not_mended():
    # Given a body API Gateway base64-encoded because it is not valid UTF-8 (a Latin-1 "é" in the name)
    raw = json.dumps(VIDEO | {"filename": "caf\u00e9.mp4"}, ensure_ascii=False).encode("latin-1")
    # When it is sent, Then it is refused in words (it used to be mended into "caf\ufffd.mp4")
    message = refused(create, raw_body=base64.b64encode(raw).decode(), base64_encoded=True)
    assert "UTF-8" in message or "unicode" in message.lower()


def test_a_base64_body_in_utf8_is_taken_and_one_that_is_not_base64_is_refused():
    encoded = base64.b64encode(json.dumps(VIDEO | {"filename": "café.mp4"}).encode()).decode()
    response = create(api_event("POST", "/x", raw_body=encoded) | {"isBase64Encoded": True}, None)
    assert answer(response) == (201, {"video_id": "v", "url": "café.mp4", "fields": {}, "expires_in": 10,
                                      "max_size": 10})  # fmt: skip
    assert "base64" in refused(create, raw_body="not base64!", base64_encoded=True)


def test_a_body_that_is_not_an_object_is_refused_in_words():
    for raw in ("[1]", '"text"', "null", "", "{"):
        assert "JSON object" in refused(create, raw_body=raw)


@pytest.mark.parametrize(
    "character",
    ["\u0085", "\u2028", "\u2029", "\u202e", "\u200b", "\u2066", "\ufeff", "\u00ad", "\x00", "\x1b", "\x7f", "\t"],
)
def test_a_display_name_or_file_name_with_a_control_or_format_character_is_refused_naming_it(character: str):
    code = f"U+{ord(character):04X}"
    assert f"display_name: {code}" in refused(update, body={"display_name": f"Bob{character}by"})
    assert f"filename: {code}" in refused(create, body=VIDEO | {"filename": f"clip{character}gpj.mp4"})
    with pytest.raises(ValidationError, match=re.escape(code) + ".* is not allowed"):
        UpdateProfile(display_name=f"x{character}")


@pytest.mark.parametrize(
    "text",
    [
        "Zoë",
        "名前 テスト",
        "Łukasz-O'Brien",
        "🎬 films",
        "e\u0301",
        "مرحبا",
        "a  b",
        "👨\u200d👩\u200d👧 holiday",
        "👩🏽\u200d💻",
        "❤️\u200d🔥",
    ],
)
def test_text_people_read_may_be_any_script_emoji_or_accent(text: str):
    assert UpdateProfile(display_name=text).display_name == text
    assert CreateUpload.model_validate(VIDEO | {"filename": f"{text}.mp4"}).filename == f"{text}.mp4"


@pytest.mark.parametrize("text", ["a\u200db", "\u200d👩", "👩\u200d", "👩\u200d\u200d💻", "x\u200d💻"])
def test_a_zero_width_joiner_is_allowed_only_between_two_pictographs(text: str):
    with pytest.raises(ValidationError, match=r"U\+200D \(ZERO WIDTH JOINER\) is not allowed"):
        UpdateProfile(display_name=text)


def test_the_rule_is_one_type_that_any_model_can_use():
    from pydantic import TypeAdapter

    from contracts.text import DisplayText

    shown = TypeAdapter(DisplayText)
    assert shown.validate_python("fine") == "fine"
    with pytest.raises(ValidationError, match=r"U\+202E \(RIGHT-TO-LEFT OVERRIDE\) is not allowed"):
        shown.validate_python("evil\u202egpj.exe")
