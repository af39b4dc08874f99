"""Subtitles through the whole pipeline against a moto server: real ffmpeg, the workflow on moto, the catalog.

An MKV with two SubRip tracks and a bitmap (PGS) one, an MP4 with mov_text, an MKV whose clock starts at
10 s, and an MKV with only a bitmap track: each becomes READY; the text tracks are WebVTT renditions of the
HLS stream, named and tagged for people, their cues at the same place against the video as in the source;
the bitmap ones are left out; and a player reaches the WebVTT files through the playback grant.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import mediatools
from tests.integration.conftest import Aws, moto_stack
from tests.integration.pipeline import Pipeline, Run
from tests.integration.test_playback import Playback, signed_key
from tests.media import declare_duration, make_subtitled_clip

pytestmark = pytest.mark.service("transcode", "metadata")

SECONDS = 7.0  # two chunks of the stack's 6 s: the cue at 6.5 s is in the second one
ENGLISH = [(2.0, 3.5, 'Hello "there"'), (6.5, 6.9, "After the chunk boundary")]
FRENCH = [(1.0, 2.0, "Bonjour")]
CUE = re.compile(r"^(?:(\d+):)?(\d\d):(\d\d)\.(\d{3}) --> (?:(\d+):)?(\d\d):(\d\d)\.(\d{3})")


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_stack(server=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("subtitled")
    english = {"cues": ENGLISH, "language": "eng", "title": "English (SDH)"}
    french = {"cues": FRENCH, "language": "fre"}
    bitmap = {"bitmap": (2.0, 3.0), "language": "eng"}
    # every stream's clock starts at 10 s, as a cut from a longer recording's would (ffmpeg's muxer then writes
    # the end time as the Duration: the file is made to say its length, as a cutting tool writes it)
    late = make_subtitled_clip(
        folder / "late.mkv", seconds=SECONDS, tracks=[english], extra=("-output_ts_offset", "10")
    )
    late.write_bytes(declare_duration(late.read_bytes(), SECONDS))
    return {
        "mkv": make_subtitled_clip(folder / "film.mkv", seconds=SECONDS, tracks=[english, french, bitmap]),
        "mp4": make_subtitled_clip(folder / "film.mp4", seconds=SECONDS, tracks=[english, french]),
        "late": late,
        "bitmap_only": make_subtitled_clip(folder / "pgs.mkv", seconds=3, tracks=[bitmap]),
    }


# --- reading the package back --------------------------------------------------------------------------------------


def _text(aws: Aws, key: str) -> str:
    bucket = aws.name("transcode", "TranscodedBucket")
    return aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def _stream(run: Run) -> dict:
    [event] = [e for e in run.events if e["event_type"] == "VideoTranscoded"]
    return event["stream"]


def _subtitle_media(master: str) -> list[dict[str, str]]:
    """The master's subtitle renditions, as attribute dicts."""
    found = []
    for line in master.splitlines():
        if line.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES"):
            found.append(dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])))
    return [{k: v.strip('"') for k, v in media.items()} for media in found]


def _cues(vtt: str) -> list[tuple[float, float, str]]:
    """Cue (start, end, text) on the media timeline: through the file's X-TIMESTAMP-MAP (RFC 8216 3.5)."""
    mapping = re.search(r"^X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:(\d+):(\d\d):(\d\d)\.(\d{3})$", vtt, re.MULTILINE)
    assert mapping, "the WebVTT file states no X-TIMESTAMP-MAP"
    mpegts, hours, minutes, secs, millis = (int(g) for g in mapping.groups())
    shift = mpegts / 90000 - (hours * 3600 + minutes * 60 + secs + millis / 1000)
    cues, lines = [], vtt.splitlines()
    for at, line in enumerate(lines):
        if match := CUE.match(line):
            g = [int(x or 0) for x in match.groups()]
            start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
            end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
            following = [*lines[at + 1 :], ""]
            text = "\n".join(following[: following.index("")])  # the lines up to a blank one
            cues.append((round(start + shift, 3), round(end + shift, 3), text))
    return cues


def _first_frame(aws: Aws, stream: dict, folder: Path) -> float:
    """The top rung's first picture on the stream's timeline, read through its playlist as a player reads it."""
    bucket, playlist = aws.name("transcode", "TranscodedBucket"), stream["renditions"][0]["playlist"]
    prefix = playlist.rsplit("/", 1)[0] + "/"
    for key in aws.keys(bucket, prefix):
        aws.client("s3").download_file(bucket, key, str(folder / key.removeprefix(prefix)))
    out = subprocess.run(
        [
            *(mediatools.ffprobe(), "-v", "error", "-allowed_extensions", "ALL", "-protocol_whitelist", "file"),
            *("-i", str(folder / "index.m3u8"), "-select_streams", "v:0", "-read_intervals", "%+#1"),
            *("-show_entries", "frame=pts_time", "-of", "json"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return float(json.loads(out)["frames"][0]["pts_time"])


def _source_cues(path: Path, track: int) -> list[tuple[float, float]]:
    """(start, end) of each cue of the source's subtitle track, on the source's own clock (not mov_text's empty
    samples, which fill the gaps between cues: two bytes, a zero length)."""
    out = subprocess.run(
        [
            *(mediatools.ffprobe(), "-v", "error", "-i", str(path), "-select_streams", f"s:{track}"),
            *("-show_entries", "packet=pts_time,duration_time,size", "-of", "json"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    packets = json.loads(out)["packets"]
    cues = [p for p in packets if int(p["size"]) > 2]
    return [(float(p["pts_time"]), float(p["pts_time"]) + float(p["duration_time"])) for p in cues]


def _source_video_start(path: Path) -> float:
    probe = mediatools.probe(mediatools.local_input(path))
    assert probe.video and probe.video.start_time is not None
    return float(probe.video.start_time)


def _assert_on_the_video_s_timeline(
    aws: Aws, run: Run, track_uri: str, source: Path, cues: list, folder: Path
) -> list[tuple[float, float, str]]:
    """Each cue (its text from `cues`) is as far from the first picture in the stream as it is in the source."""
    stream = _stream(run)
    prefix = stream["master"].removesuffix("master.m3u8")
    playlist = _text(aws, prefix + track_uri)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.endswith("#EXT-X-ENDLIST\n")
    [extinf] = re.findall(r"#EXTINF:([\d.]+),", playlist)
    target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", playlist)[1])  # type: ignore[index]
    assert float(extinf) == pytest.approx(SECONDS, abs=0.05) and target >= float(extinf)
    [vtt_name] = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    streamed = _cues(_text(aws, prefix + track_uri.rsplit("/", 1)[0] + "/" + vtt_name))
    first_frame, video_start = _first_frame(aws, stream, folder), _source_video_start(source)
    in_source = _source_cues(source, int(track_uri.split("/")[1]))
    assert [(round(s - first_frame, 3), round(e - first_frame, 3), t) for s, e, t in streamed] == [
        (round(s - video_start, 3), round(e - video_start, 3), text)
        for (s, e), (_, _, text) in zip(in_source, cues, strict=True)
    ]
    return streamed


# --- the cases -----------------------------------------------------------------------------------------------------


def test_an_mkv_s_srt_tracks_become_webvtt_renditions_and_its_bitmap_track_is_left_out(
    aws: Aws, pipeline: Pipeline, clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given an MKV with an English and a French SubRip track and a Blu-ray bitmap one
    # When it is uploaded
    run = pipeline.upload(clips["mkv"], "film.mkv")

    # Then it is READY, and its master lists the two text tracks by name and language, not the bitmap one
    assert run.item and run.item["status"] == "READY", run.item
    stream = _stream(run)
    master = _text(aws, stream["master"])
    assert _subtitle_media(master) == [
        {
            "TYPE": "SUBTITLES",
            "GROUP-ID": "subs",
            "NAME": "English (SDH)",
            "LANGUAGE": "en",
            "DEFAULT": "NO",
            "AUTOSELECT": "YES",
            "URI": "subs/0/index.m3u8",
        },
        {
            "TYPE": "SUBTITLES",
            "GROUP-ID": "subs",
            "NAME": "French",
            "LANGUAGE": "fr",
            "DEFAULT": "NO",
            "AUTOSELECT": "YES",
            "URI": "subs/1/index.m3u8",
        },
    ]
    variants = [line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert variants and all('SUBTITLES="subs"' in line for line in variants)
    # and each cue is where it was against the video: 2.0 s in the source is 2.0 s on the stream's timeline
    (folder := tmp_path / "rung").mkdir()
    english = _assert_on_the_video_s_timeline(aws, run, "subs/0/index.m3u8", clips["mkv"], ENGLISH, folder)
    assert english[0][:2] == (2.0, 3.5)
    _assert_on_the_video_s_timeline(aws, run, "subs/1/index.m3u8", clips["mkv"], FRENCH, folder)

    # And a player reaches the subtitle playlist through the grant, and the WebVTT file by its signed URL
    player = Playback(aws, monkeypatch)
    hls = player.video(run.video_id, "alice")[1]["playback"]["hls"]
    served_master = player.fetch(hls)["body"]
    [subtitles_route] = re.findall(r'NAME="French",[^\n]*URI="([^"]+)"', served_master)
    served = player.fetch(subtitles_route)
    assert served["statusCode"] == 200
    [vtt_url] = [line for line in served["body"].splitlines() if line.startswith("http")]
    bucket = aws.name("transcode", "TranscodedBucket")
    assert signed_key(vtt_url, bucket)[0] == stream["master"].replace("master.m3u8", "subs/1/subtitles.vtt")
    with urllib.request.urlopen(vtt_url, timeout=10) as response:
        assert response.headers["Content-Type"] == "text/vtt"
        assert "Bonjour" in response.read().decode()


def test_an_mp4_s_mov_text_tracks_become_webvtt_renditions(
    aws: Aws, pipeline: Pipeline, clips: dict[str, Path], tmp_path: Path
):
    run = pipeline.upload(clips["mp4"], "film.mp4")
    assert run.item and run.item["status"] == "READY", run.item
    media = _subtitle_media(_text(aws, _stream(run)["master"]))
    # (MP4 has no "shown by default" flag: ffmpeg reads a track's "enabled" as default, and enables the first)
    assert [(m["NAME"], m["LANGUAGE"], m["DEFAULT"]) for m in media] == [
        ("English (SDH)", "en", "YES"),
        ("French", "fr", "NO"),
    ]
    (folder := tmp_path / "rung").mkdir()
    _assert_on_the_video_s_timeline(aws, run, "subs/0/index.m3u8", clips["mp4"], ENGLISH, folder)


def test_cues_of_a_source_whose_clock_starts_late_stay_with_their_pictures(
    aws: Aws, pipeline: Pipeline, clips: dict[str, Path], tmp_path: Path
):
    assert _source_video_start(clips["late"]) == pytest.approx(10.0)
    run = pipeline.upload(clips["late"], "late.mkv")
    assert run.item and run.item["status"] == "READY", run.item
    (folder := tmp_path / "rung").mkdir()
    streamed = _assert_on_the_video_s_timeline(aws, run, "subs/0/index.m3u8", clips["late"], ENGLISH, folder)
    assert streamed[0][0] - _first_frame(aws, _stream(run), folder) == pytest.approx(2.0)


def test_a_video_with_only_a_bitmap_subtitle_track_becomes_ready_without_it(
    aws: Aws, pipeline: Pipeline, clips: dict[str, Path]
):
    run = pipeline.upload(clips["bitmap_only"], "pgs.mkv")
    assert run.item and run.item["status"] == "READY", run.item
    stream = _stream(run)
    assert "SUBTITLES" not in _text(aws, stream["master"])
    prefix = stream["master"].removesuffix("master.m3u8")
    assert not aws.keys(aws.name("transcode", "TranscodedBucket"), prefix + "subs/")
