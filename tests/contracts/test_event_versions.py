"""VIDEO_EVENT reads each event by its type and schema version: every version a producer ever sent, and no other."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from contracts import (
    EVENT_TYPES,
    VIDEO_EVENT,
    ChunkRef,
    DisplayNameChanged,
    DomainEvent,
    MailPreferenceChanged,
    UnreadableMessage,
    UploadStarted,
    VideoDeleted,
    VideoReady,
    VideoStatus,
    VideoStatusChanged,
    VideoStatusChangedV1,
    VideoTranscodedV1,
    VideoTranscodeFailedV1,
    open_video_event,
    status_sequence,
)
from contracts.schemas import schema_version_of
from tests.unit import shapes

pytestmark = pytest.mark.service("shared")

VIDEO_ID = "0123456789abcdef0123456789abcdef"


def _samples() -> list[DomainEvent]:
    return [
        shapes.transcoded_v2(VIDEO_ID),
        shapes.transcoded_v1(VIDEO_ID),
        shapes.failed(VIDEO_ID, chunk=ChunkRef(index=1, start_seconds=4, end_seconds=8)),
        shapes.failed(VIDEO_ID, version=1),
        shapes.progress(VIDEO_ID, 2, 5),
        shapes.progress_v1(VIDEO_ID, 2, 5),
        VideoReady(correlation_id="c", video_id=VIDEO_ID, owner="alice", title="t", duration_seconds=2, renditions=[]),
        VideoDeleted(correlation_id="c", video_id=VIDEO_ID, owner="alice", source=None),
        VideoStatusChanged(
            correlation_id="c",
            video_id=VIDEO_ID,
            owner="alice",
            status=VideoStatus.FAILED,
            rank=3,
            progress=None,
            reason="the file has no video stream",
            title="t",
            sequence=status_sequence(3, None),
        ),
        VideoStatusChangedV1(
            correlation_id="c",
            video_id=VIDEO_ID,
            owner="alice",
            status=VideoStatus.PROCESSING,
            rank=2,
            progress=0.5,
            reason=None,
            title="t",
            sequence=205001,
        ),
        MailPreferenceChanged(correlation_id="c", sub="alice", email="alice@example.com", enabled=True, version=2),
        UploadStarted(correlation_id="c", video_id=VIDEO_ID, owner="alice", title="Bob's talk, part 2 🎤.mp4"),
        DisplayNameChanged(correlation_id="c", sub="alice", display_name="Alice Ł", version=3),
    ]


SAMPLES = {type(sample): sample for sample in _samples()}


def test_there_is_a_sample_of_every_event_model() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("event", EVENT_TYPES, ids=[e.__name__ for e in EVENT_TYPES])
def test_every_event_model_is_read_back_as_itself(event: type[DomainEvent]) -> None:
    # Given an event of this model as it goes on the wire
    sample = SAMPLES[event]
    wire = sample.model_dump_json()

    # When a consumer reads it
    read = VIDEO_EVENT.validate_json(wire)

    # Then it is the same model, equal to what was sent, and it says its version
    assert type(read) is event
    assert read == sample
    assert json.loads(wire)["schema_version"] == schema_version_of(event)


@pytest.mark.parametrize("with_version", [True, False], ids=["schema_version 1", "no schema_version"])
def test_a_version_1_video_transcoded_is_read_as_version_1(with_version: bool) -> None:
    # Given a VideoTranscoded as a version 1 producer sent it (the oldest ones did not say their version)
    document = json.loads(shapes.transcoded_v1(VIDEO_ID).model_dump_json())
    if not with_version:
        del document["schema_version"]

    # When a consumer opens it
    opened = open_video_event(json.dumps(document))

    # Then it is a VideoTranscodedV1, with its MP4 renditions
    assert isinstance(opened, VideoTranscodedV1) and opened.schema_version == 1
    assert [r.name for r in opened.renditions] == ["720p", "480p"]


def test_a_version_1_failure_without_its_version_is_read_as_version_1() -> None:
    # Given a VideoTranscodeFailed of version 1 without schema_version
    document = {k: v for k, v in shapes.transcode_failed(VIDEO_ID, version=1).items() if k != "schema_version"}

    # When a consumer opens it
    opened = open_video_event(json.dumps(document))

    # Then it is a VideoTranscodeFailedV1
    assert isinstance(opened, VideoTranscodeFailedV1)


def _wire(sample: DomainEvent) -> dict:
    return json.loads(sample.model_dump_json())


UNKNOWN = {
    "VideoTranscoded v3": _wire(shapes.transcoded_v2(VIDEO_ID)) | {"schema_version": 3},
    "VideoTranscodeProgress v3": _wire(shapes.progress(VIDEO_ID, 1)) | {"schema_version": 3},
    "a progress v2 body that says v1": _wire(shapes.progress(VIDEO_ID, 1, encoded=0.1)) | {"schema_version": 1},
    "VideoReady v0": _wire(SAMPLES[VideoReady]) | {"schema_version": 0},
    "unknown event type": _wire(SAMPLES[VideoReady]) | {"event_type": "VideoExploded"},
    "schema_version as text": _wire(shapes.transcoded_v2(VIDEO_ID)) | {"schema_version": "2"},
    "a v2 body that says v1": _wire(shapes.transcoded_v2(VIDEO_ID)) | {"schema_version": 1},
    "a v1 body that says v2": _wire(shapes.transcoded_v1(VIDEO_ID)) | {"schema_version": 2},
}


@pytest.mark.parametrize("document", list(UNKNOWN.values()), ids=list(UNKNOWN))
def test_an_unknown_type_or_version_is_refused(document: dict) -> None:
    # Given an event whose (event_type, schema_version) no model reads, or whose body is not its version's
    # When it is read
    # Then the model layer refuses it, and a consumer gets UnreadableMessage (the message is dead-lettered)
    with pytest.raises(ValidationError):
        VIDEO_EVENT.validate_python(document)
    with pytest.raises(UnreadableMessage):
        open_video_event(json.dumps(document))


def test_progress_is_a_share_of_the_chunks_and_never_above_one() -> None:
    # Given progress events
    # When their progress is asked / one claims more chunks done than there are
    # Then it is done / total, and more done than total is refused
    assert shapes.progress(VIDEO_ID, 0, 4).progress == 0
    assert shapes.progress(VIDEO_ID, 3, 4).progress == 0.75
    assert shapes.progress(VIDEO_ID, 4, 4).progress == 1
    with pytest.raises(ValidationError, match="exceeds chunks_total"):
        shapes.progress(VIDEO_ID, 5, 4)


def test_a_chunk_ends_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="before it starts"):
        ChunkRef(index=0, start_seconds=8, end_seconds=4)
