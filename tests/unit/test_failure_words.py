"""Why a video failed, in words for the person who uploaded it: one sentence per failure code, with no tool's words
in it, the limits it states equal to the ones the transcoder enforces, and only our sentences ever let through."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts import ChunkRef, FailureReason
from contracts.readable import (
    FAILURE_SENTENCES,
    LIMITS,
    UNKNOWN_FAILURE,
    clock_words,
    failure_sentence,
    failure_words,
)
from infra import load
from mediatools import ALLOWED_CONTAINERS
from tests.unit.shapes import FFMPEG_WORDS, TOOL_WORDS
from transcode.logic.gate import GateLimits
from transcode.settings import TranscodeSettings

pytestmark = pytest.mark.service("shared", "transcode")

# ffprobe's name of each accepted container -> how the UNSUPPORTED_CONTAINER sentence names it to people
CONTAINER_WORDS = {
    "mov": "MOV", "mp4": "MP4", "m4a": "MP4", "3gp": "MP4", "3g2": "MP4", "mj2": "MP4",  # the MP4 family
    "matroska": "MKV", "webm": "WebM", "mpegts": "MPEG-TS (M2TS, MTS)", "mpeg": "MPEG-PS (VOB)", "avi": "AVI",
    "gif": "animated GIF",
}  # fmt: skip
PART = ChunkRef(index=61, start_seconds=3660.0, end_seconds=3719.4)


@pytest.mark.parametrize("code", list(FailureReason), ids=str)
def test_every_failure_code_has_a_sentence_for_people_without_the_tools_words(code: FailureReason):
    # Given a failure code
    # When its sentence is asked for, alone and naming a part of the video
    sentence, with_part = failure_sentence(code), failure_sentence(code, PART)

    # Then it is the code's own sentence: whole sentences, one line, no tool's words, no code name
    assert sentence == FAILURE_SENTENCES[code] and sentence != UNKNOWN_FAILURE
    assert sentence[0].isupper() and sentence.endswith(".") and sentence.isprintable()
    assert [word for word in TOOL_WORDS if word in sentence] == []
    assert code.value not in sentence
    # And with the part, it says where in words (as a player shows the time), and still fits the events' 2000
    assert with_part == f"{sentence} (It happened in the part from 1:01:00 to 1:02:00 of your video.)"
    assert len(with_part) <= 2000


def test_each_code_says_something_else():
    # Given the sentences of every code
    sentences = [failure_sentence(code) for code in FailureReason]
    # Then no two codes read the same
    assert len(set(sentences)) == len(sentences)


def test_the_limits_people_are_told_are_the_ones_the_transcoder_enforces():
    # Given the limits the sentences state, the gate's defaults, and the mediaTasks function's as deployed
    [tasks] = [f for f in load("prod").functions if f.key == "transcode-mediaTasks"]
    enforced = [GateLimits(), TranscodeSettings(tasks.environment).limits()]

    # Then every one of them says the same
    for limits in enforced:
        assert limits.max_source_bytes == LIMITS.source_gib * 1024**3
        assert limits.max_duration_seconds == LIMITS.hours * 3600
        assert (limits.max_long_side, limits.max_short_side) == (LIMITS.long_side, LIMITS.short_side)
        assert limits.max_fps == LIMITS.fps
        assert limits.max_streams == LIMITS.tracks
    # And the sentences say them as people read them
    assert "5 GiB" in failure_sentence(FailureReason.FILE_TOO_LARGE)
    assert "4 hours" in failure_sentence(FailureReason.DURATION_TOO_LONG)
    assert "3840 x 2160 pixels" in failure_sentence(FailureReason.RESOLUTION_TOO_HIGH)
    assert "60 frames per second" in failure_sentence(FailureReason.FRAME_RATE_TOO_HIGH)
    assert "more than 8 tracks" in failure_sentence(FailureReason.TOO_MANY_STREAMS)


def test_the_kinds_of_file_we_accept_are_all_named():
    # Given the containers the gate accepts
    sentence = failure_sentence(FailureReason.UNSUPPORTED_CONTAINER)
    # Then each is named to people (a container added to the allow-list needs its words here and in the sentence)
    assert sorted(ALLOWED_CONTAINERS) == sorted(CONTAINER_WORDS)
    assert [words for words in CONTAINER_WORDS.values() if words not in sentence] == []


def test_too_long_fits_a_long_video_and_an_animation_of_too_many_frames():
    # (the gate refuses an animated GIF of too many frames as DURATION_TOO_LONG)
    sentence = failure_sentence(FailureReason.DURATION_TOO_LONG)
    assert "hours" in sentence and "animated GIF" in sentence and "too many frames" in sentence


@pytest.mark.parametrize("code", [None, "", "NO_SUCH_CODE"])
def test_a_code_we_do_not_know_reads_as_a_failure_in_general(code: str | None):
    assert failure_sentence(code) == UNKNOWN_FAILURE


@pytest.mark.parametrize(
    ("seconds", "words"), [(0, "0:00"), (59.9, "0:59"), (125, "2:05"), (3600, "1:00:00"), (14_400, "4:00:00")]
)
def test_a_time_in_the_video_reads_as_a_player_shows_it(seconds: float, words: str):
    assert clock_words(seconds) == words


@pytest.mark.parametrize("code", list(FailureReason), ids=str)
def test_a_sentence_of_ours_is_let_through_with_or_without_its_part(code: FailureReason):
    # Given a code's sentence, alone and with the part of the video
    for sentence in (failure_sentence(code), failure_sentence(code, PART)):
        # When all a consumer has is the text
        # Then it is let through as it is
        assert failure_words(sentence) == sentence


@pytest.mark.parametrize(
    "text",
    [
        FFMPEG_WORDS,
        None,
        "",
        "chunk 2 (120-180 s): Conversion failed!",
        failure_sentence(FailureReason.EMPTY_FILE) + " " + FFMPEG_WORDS,
        FFMPEG_WORDS + " " + failure_sentence(FailureReason.EMPTY_FILE),
        failure_sentence(FailureReason.EMPTY_FILE) + " (It happened in the part from [x] to 0:01 of your video.)",
    ],
    ids=[
        "ffmpeg's words",
        "none",
        "empty",
        "a chunk's detail",
        "a sentence then ffmpeg",
        "ffmpeg then a sentence",
        "a part that is not a time",
    ],
)
def test_any_other_text_reads_as_a_failure_in_general(text: str | None):
    # Given a reason that is not a sentence of ours (a message older than the sentences, waiting in a DLQ)
    # When all a consumer has is the text
    # Then people read the general sentence instead
    assert failure_words(text) == UNKNOWN_FAILURE


def test_the_readme_lists_every_code_with_its_sentence():
    # Given the README's table of failure codes
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    # Then it gives each code the sentence people read
    rows = [f"| `{code.value}` | {FAILURE_SENTENCES[code]} |" for code in FailureReason]
    assert [row for row in rows if row not in readme] == []
