"""Committed event schemas match the models, and a published version never changes incompatibly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from contracts.events import (
    EVENT_TYPES,
    DomainEvent,
    VideoReady,
    VideoTranscoded,
    VideoTranscodedV1,
    VideoTranscodeFailed,
    VideoTranscodeFailedV1,
    VideoTranscodeProgress,
    VideoTranscodeProgressV1,
)
from contracts.schemas import PUSH_MESSAGES, breaking_changes, generate, push_schema_file_name, schema_file_name, write

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas"


@pytest.mark.parametrize("event", EVENT_TYPES, ids=[e.__name__ for e in EVENT_TYPES])
def test_committed_schema_matches_the_model(event: type[DomainEvent]) -> None:
    # Given the schema committed for this event's version
    path = SCHEMAS / schema_file_name(event)
    assert path.exists(), f"{path} is missing: run `make schemas`"
    committed = json.loads(path.read_text())

    # When the model's schema is generated
    generated = generate(event)

    # Then they are the same
    assert committed == generated, (
        f"{path.name} differs from {event.__name__}: run `make schemas` to regenerate it, "
        "or bump schema_version on the model if the change breaks consumers"
    )


@pytest.mark.parametrize(
    ("event", "name"),
    [
        (VideoTranscodedV1, "VideoTranscoded.v1.json"),
        (VideoTranscoded, "VideoTranscoded.v2.json"),
        (VideoTranscodeFailedV1, "VideoTranscodeFailed.v1.json"),
        (VideoTranscodeFailed, "VideoTranscodeFailed.v2.json"),
        (VideoTranscodeProgressV1, "VideoTranscodeProgress.v1.json"),
        (VideoTranscodeProgress, "VideoTranscodeProgress.v2.json"),
        (VideoReady, "VideoReady.v1.json"),
    ],
)
def test_a_schema_file_is_named_after_the_event_type_and_version(event: type[DomainEvent], name: str) -> None:
    # Given an event model (the models of an old version are named ...V1)
    # When its schema file is named
    # Then the name is the event type's and the version's, never the model's
    assert schema_file_name(event) == name


def test_every_event_version_has_its_own_schema_file_and_every_committed_file_a_model() -> None:
    # Given the schema file names of every event model
    names = [schema_file_name(event) for event in EVENT_TYPES]

    # When they are compared with each other and with the committed files
    committed = sorted(path.name for path in SCHEMAS.glob("*.json"))

    # Then no two models share a file, and no committed file is left without its model
    assert len(set(names)) == len(names)
    assert sorted(names) == committed


@pytest.mark.parametrize("event", [VideoTranscodedV1, VideoTranscodeFailedV1], ids=lambda e: e.__name__)
def test_a_kept_version_1_model_is_the_published_version_1_schema(event: type[DomainEvent]) -> None:
    # Given a version 1 model kept for reading old messages, and the schema published for version 1
    published = json.loads((SCHEMAS / schema_file_name(event)).read_text())

    # When the model's schema is generated
    generated = generate(event)

    # Then it is the very same schema, titled with the event's name and with no breaking change
    assert generated == published and generated["title"] == event.model_fields["event_type"].default
    assert breaking_changes(published, generated) == []


class Rendition(BaseModel):
    name: str
    width: int


class Old(BaseModel):
    video_id: str
    size: int
    title: str | None = None
    renditions: list[Rendition]
    names: list[str]
    timings: dict[str, float]


class Removed(BaseModel):
    video_id: str
    title: str | None = None
    renditions: list[Rendition]
    names: list[str]
    timings: dict[str, float]


class Retyped(BaseModel):
    video_id: str
    size: str
    title: str | None = None
    renditions: list[Rendition]
    names: list[str]
    timings: dict[str, float]


class AddedRequired(Old):
    owner: str


class AddedOptional(Old):
    owner: str | None = None


class TitleRequired(BaseModel):
    video_id: str
    size: int
    title: str | None
    renditions: list[Rendition]
    names: list[str]
    timings: dict[str, float]


class NarrowRendition(BaseModel):
    name: str
    width: str


class NestedRetyped(BaseModel):
    video_id: str
    size: int
    title: str | None = None
    renditions: list[NarrowRendition]
    names: list[str]
    timings: dict[str, float]


class ItemsRetyped(BaseModel):
    video_id: str
    size: int
    title: str | None = None
    renditions: list[Rendition]
    names: list[int]
    timings: dict[str, float]


class ValuesRetyped(BaseModel):
    video_id: str
    size: int
    title: str | None = None
    renditions: list[Rendition]
    names: list[str]
    timings: dict[str, str]


def _schema(model: type[BaseModel]) -> dict:
    return model.model_json_schema(mode="serialization")


@pytest.mark.parametrize(
    ("new", "field", "words"),
    [
        (Removed, "size", "removed"),
        (Retyped, "size", "type changed"),
        (AddedRequired, "owner", "added"),
        (AddedOptional, "owner", "added"),
        (TitleRequired, "title", "became required"),
        (NestedRetyped, "renditions.width", "type changed"),
        (ItemsRetyped, "names", "type changed"),
        (ValuesRetyped, "timings", "type changed"),
    ],
    ids=[
        "removed-field",
        "changed-type",
        "new-required-field",
        "new-optional-field",
        "optional-became-required",
        "nested-field-changed-type",
        "list-item-changed-type",
        "dict-value-changed-type",
    ],
)
def test_breaking_changes_are_reported(new: type[BaseModel], field: str, words: str) -> None:
    # Given an old schema and a new one with one breaking change
    old_schema, new_schema = _schema(Old), _schema(new)

    # When they are compared
    problems = breaking_changes(old_schema, new_schema)

    # Then that change, and only that one, is reported
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{field}: ") and words in problems[0], problems


def test_identical_schemas_have_no_breaking_changes() -> None:
    # Given two schemas of the same model
    old_schema, new_schema = _schema(Old), _schema(Old)

    # When they are compared
    problems = breaking_changes(old_schema, new_schema)

    # Then nothing is reported
    assert problems == []


@pytest.mark.parametrize("event", EVENT_TYPES, ids=[e.__name__ for e in EVENT_TYPES])
def test_each_event_schema_is_compatible_with_itself(event: type[DomainEvent]) -> None:
    # Given an event's schema
    schema = generate(event)

    # When it is compared with itself
    problems = breaking_changes(schema, json.loads(json.dumps(schema)))

    # Then nothing is reported
    assert problems == []


def test_write_creates_every_schema_and_is_then_up_to_date(tmp_path: Path) -> None:
    # Given an empty schema folder
    folder = tmp_path / "schemas"

    # When schemas are written twice
    first, second = write(folder), write(folder)

    # Then the first run wrote one file per event, equal to the model, and the second changed nothing
    assert len(first) == len(EVENT_TYPES) + len(PUSH_MESSAGES)
    assert second == []
    for event in EVENT_TYPES:
        assert json.loads((folder / schema_file_name(event)).read_text()) == generate(event)
    for message in PUSH_MESSAGES:
        assert json.loads((folder / push_schema_file_name(message)).read_text()) == generate(message)


@pytest.mark.parametrize("message", PUSH_MESSAGES, ids=[m.__name__ for m in PUSH_MESSAGES])
def test_committed_push_schema_matches_the_model(message: type[BaseModel]) -> None:
    # Given the schema committed for a message the notifier pushes to browsers
    path = SCHEMAS / push_schema_file_name(message)
    assert path.exists(), f"{path} is missing: run `make schemas`"

    # Then it is the model's, and only the push messages' schemas are in its folder
    assert json.loads(path.read_text()) == generate(message)
    assert sorted(p.name for p in path.parent.glob("*.json")) == sorted(
        push_schema_file_name(m).rsplit("/", 1)[1] for m in PUSH_MESSAGES
    )


def test_write_refuses_to_change_a_published_version_incompatibly(tmp_path: Path) -> None:
    # Given a published v1 of VideoReady that had a field the model no longer has
    older = generate(VideoReady)
    older["properties"]["thumbnail_url"] = {"title": "Thumbnail Url", "type": "string"}
    older["required"] = [*older.get("required", []), "thumbnail_url"]
    published = tmp_path / schema_file_name(VideoReady)
    published.write_text(json.dumps(older, indent=2, sort_keys=True) + "\n")
    before = published.read_text()

    # When schemas are written
    with pytest.raises(SystemExit) as refused:
        write(tmp_path)

    # Then it refuses, naming the file and the change, and leaves the published file alone
    assert schema_file_name(VideoReady) in str(refused.value.code)
    assert "thumbnail_url: removed" in str(refused.value.code)
    assert published.read_text() == before
