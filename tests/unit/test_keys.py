"""Key layout: owner and video id read from upload keys; outputs always under videos/{video_id}/."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contracts import parse_upload_key, poster_key, rendition_key
from contracts.keys import UPLOAD_PREFIX, VIDEO_ID_RE, manifest_key

pytestmark = pytest.mark.service("shared")


@pytest.mark.parametrize(
    ("key", "owner", "video_id", "filename"),
    [
        ("uploads/alice/vid00001/my holiday video.mp4", "alice", "vid00001", "my holiday video.mp4"),
        ("uploads/alice/vid00001/my.holiday.2024.final.mp4", "alice", "vid00001", "my.holiday.2024.final.mp4"),
        ("uploads/zoë/Vid_0002-abc/vidéo 日本.mov", "zoë", "Vid_0002-abc", "vidéo 日本.mov"),
        ("uploads/alice@example.com/vid00001/sub/dir/clip.mp4", "alice@example.com", "vid00001", "sub/dir/clip.mp4"),
    ],
    ids=["spaces", "dots", "unicode", "slash-in-filename"],
)
def test_upload_key_gives_owner_video_id_and_filename(key: str, owner: str, video_id: str, filename: str) -> None:
    # Given a key in the uploads/{owner}/{video_id}/{filename} layout
    # When it is parsed
    upload = parse_upload_key(key)

    # Then owner, video id and the whole file name are read from it
    assert (upload.key, upload.owner, upload.video_id, upload.filename) == (key, owner, video_id, filename)


OTHER_KEYS = [
    "other/x.mp4",
    "uploads/x.mp4",
    "uploads/a/bad id!/x.mp4",
    "uploads/alice/short/x.mp4",
    "uploads/alice/vid00001/",
    "../etc/passwd",
    "/leading.mp4",
    "x.mp4",
]


@pytest.mark.parametrize("key", OTHER_KEYS)
def test_other_keys_get_no_owner_and_a_stable_derived_id(key: str) -> None:
    # Given a key outside the upload layout
    # When it is parsed twice
    first, again = parse_upload_key(key), parse_upload_key(key)

    # Then it has no owner, and a valid video id that is the same every time
    assert first.owner is None
    assert VIDEO_ID_RE.match(first.video_id)
    assert first.video_id == again.video_id
    assert first.key == key


def test_derived_ids_differ_between_keys() -> None:
    # Given several keys outside the upload layout
    # When each is parsed
    ids = {parse_upload_key(key).video_id for key in OTHER_KEYS}

    # Then no two share a video id
    assert len(ids) == len(OTHER_KEYS)


OUTPUT_KEYS: dict[str, Callable[[str], str]] = {
    "rendition": lambda video_id: rendition_key(video_id, "720p"),
    "poster": poster_key,
    "manifest": manifest_key,
}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("rendition", "videos/vid00001/720p.mp4"),
        ("poster", "videos/vid00001/poster.jpg"),
        ("manifest", "videos/vid00001/manifest.json"),
    ],
)
def test_output_keys_are_under_the_video_folder(kind: str, expected: str) -> None:
    # Given the video id read from an upload key
    video_id = parse_upload_key("uploads/alice/vid00001/clip.mp4").video_id

    # When the output key is made
    key = OUTPUT_KEYS[kind](video_id)

    # Then it is under videos/{video_id}/ and never under uploads/, so it cannot re-trigger the upload notification
    assert key == expected
    assert not key.startswith(UPLOAD_PREFIX)


@pytest.mark.parametrize("kind", list(OUTPUT_KEYS))
@pytest.mark.parametrize("key", OTHER_KEYS)
def test_output_keys_of_derived_ids_are_never_under_uploads(kind: str, key: str) -> None:
    # Given the derived video id of a key outside the upload layout
    video_id = parse_upload_key(key).video_id

    # When the output key is made
    output = OUTPUT_KEYS[kind](video_id)

    # Then it is under videos/{video_id}/ too
    assert output.startswith(f"videos/{video_id}/")
    assert not output.startswith(UPLOAD_PREFIX)


@pytest.mark.parametrize("kind", list(OUTPUT_KEYS))
@pytest.mark.parametrize(
    "video_id", ["", "short", "../../uploads/alice", "has space1", "uploads/alice/vid00001", "-vid00001"]
)
def test_output_keys_reject_an_invalid_video_id(kind: str, video_id: str) -> None:
    # Given something that is not a video id
    # When an output key is made from it
    # Then it is refused
    with pytest.raises(ValueError, match="not a video id"):
        OUTPUT_KEYS[kind](video_id)
