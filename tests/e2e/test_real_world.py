"""Real-world-shaped uploads through the whole workflow on one local stack, checked as a person would notice.

The corpus (tests/corpus.py) is what phones, cameras, editors and broadcasts upload: HDR HEVC shot in
portrait, variable frame rate, AVCHD and broadcast MPEG-TS, DVD MPEG-PS, ProRes, anamorphic SD, a 2.39:1
film, 1080i, 5.1, mono and 22.05 kHz sound, sound or picture starting late, subtitles, a GIF, no sound, and a
sound recording that is not a video. All of it is uploaded at once, and each result is read back through the
API and the playback link: the picture's size and shape, its frames, its colours, its timing against the sound
in the stream and in the download, the segment grid, the subtitles.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import requests

import mediatools
from tests.corpus import CORPUS, HDR_BARS_SDR, HDR_TOLERANCE, Source, make
from tests.e2e.conftest import SHARED_PARAMS, Stack, final
from tests.media import count_frames

pytestmark = pytest.mark.service("transcode", "metadata")

CHUNK_SECONDS = int(SHARED_PARAMS["chunkSeconds"])  # every 6 s (the segment length): the 13 s sources are three chunks
BY_NAME = {source.name: source for source in CORPUS}
VIDEOS = [s.name for s in CORPUS if not s.refused]
HTTP = ("-protocol_whitelist", "http,tcp", "-allowed_extensions", "ALL")  # HLS over the playback link
DOWNLOAD = ("-protocol_whitelist", "http,tcp")  # an MP4 by its signed link


@dataclass
class Outcome:
    source: Source
    path: Path
    item: dict[str, Any]
    video: dict[str, Any]  # GET /videos/{id} as the owner sees it

    @cached_property
    def master(self) -> str:
        return requests.get(self.video["playback"]["hls"], timeout=10).text

    def media_playlists(self) -> dict[str, str]:
        """Each rung's media playlist URL by its name, and the audio's (as "audio"), from the master."""
        lines = self.master.splitlines()
        found = {}
        for index, line in enumerate(lines):
            if line.startswith("#EXT-X-STREAM-INF:"):
                height = int(re.search(r"RESOLUTION=\d+x(\d+)", line).group(1))  # type: ignore[union-attr]
                found[f"{height}"] = lines[index + 1]
            if line.startswith("#EXT-X-MEDIA:TYPE=AUDIO"):
                found["audio"] = re.search(r'URI="([^"]+)"', line).group(1)  # type: ignore[union-attr]
        return found

    @property
    def top(self) -> str:
        """The best rung's media playlist URL."""
        top = self.video["stream"]["renditions"][0]
        return self.media_playlists()[str(top["height"])]


@pytest.fixture(scope="module")
def outcomes(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    # Given the whole corpus, uploaded at once by one user
    folder = tmp_path_factory.mktemp("corpus")
    uploaded = {}
    for source in CORPUS:
        path = make(source, folder)
        uploaded[source.name] = (path, stack.upload(path, source.name, owner="sub-corpus"))
    token = stack.forge.token("corpus")
    found = {}
    for name, (path, video_id) in uploaded.items():
        item = stack.wait_for(f"{name} READY or FAILED", lambda v=video_id: final(stack.item(v)), timeout=300)
        owner = {"Authorization": f"Bearer {token}"}
        answer = requests.get(stack.url(f"/videos/{video_id}"), headers=owner, timeout=10)
        assert answer.status_code == 200, answer.text
        found[name] = Outcome(BY_NAME[name], path, item, answer.json())
    return found


def _probe(*input_args: str) -> dict[str, Any]:
    done = subprocess.run(
        [mediatools.ffprobe(), "-v", "error", *input_args, "-show_streams", "-show_format", "-of", "json"],
        capture_output=True, check=True, timeout=120, text=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def _start(probe: dict[str, Any], kind: str) -> float | None:
    streams = [s for s in probe["streams"] if s["codec_type"] == kind]
    return float(streams[0]["start_time"]) if streams else None


def _rgb(*input_args: str, width: int, height: int, crop: tuple[int, int, int, int] | None = None) -> bytes:
    """The first frame as full-range RGB, `crop` (x, y, w, h) of it first if given."""
    chain = (f"crop={crop[2]}:{crop[3]}:{crop[0]}:{crop[1]}," if crop else "") + "scale=out_range=full,format=rgb24"
    done = subprocess.run(
        [mediatools.ffmpeg(), "-v", "error", *input_args, "-frames:v", "1", "-vf", chain, "-f", "rawvideo", "-"],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    assert len(done.stdout) == width * height * 3, "the frame is not the size the API says"
    return done.stdout


def _bars(rgb: bytes, width: int, height: int) -> list[tuple[int, ...]]:
    """The four bars' colours, sampled along the picture's long side (a portrait video has them as rows)."""
    samples = []
    for n in range(4):
        x, y = ((2 * n + 1) * width // 8, height // 2) if width >= height else (width // 2, (2 * n + 1) * height // 8)
        at = (y * width + x) * 3
        samples.append(tuple(rgb[at : at + 3]))
    return samples


def _close(seen: list[tuple[int, ...]], expected: tuple[tuple[int, ...], ...]) -> bool:
    """Each expected bar is one of the seen ones, within the tolerance (in whatever order the rotation left them)."""
    left = list(seen)
    for want in expected:
        match = next(
            (got for got in left if all(abs(a - b) <= HDR_TOLERANCE for a, b in zip(got, want, strict=True))), None
        )
        if match is None:
            return False
        left.remove(match)
    return True


def _progressive_share(*input_args: str) -> float:
    """How many frames ffmpeg's interlace detector finds progressive (1.0: no combing anywhere)."""
    done = subprocess.run(
        [mediatools.ffmpeg(), "-v", "info", "-nostats", *input_args, "-vf", "idet", "-f", "null", "-"],
        capture_output=True, check=True, timeout=300, text=True,
    )  # fmt: skip
    counts = re.findall(r"Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)", done.stderr)
    tff, bff, progressive = (int(n) for n in counts[-1])
    return progressive / max(1, tff + bff + progressive)


def _audio_frame(probe: dict[str, Any]) -> float:
    """One AAC frame at the audio's rate: the tolerance of an A/V offset."""
    [audio] = [s for s in probe["streams"] if s["codec_type"] == "audio"]
    return 1024 / int(audio["sample_rate"])


@pytest.mark.parametrize("name", VIDEOS)
def test_the_picture_keeps_its_shape_and_is_never_enlarged(outcomes: dict[str, Outcome], name: str):
    outcome = outcomes[name]
    source, video = outcome.source, outcome.video
    # Then the video is READY, and its best rung is the picture as meant to be seen: SAR and rotation applied
    assert video["status"] == "READY", video.get("failure")
    top = video["stream"]["renditions"][0]
    want_w, want_h = source.display
    assert abs(top["width"] / top["height"] - want_w / want_h) <= 0.01 * want_w / want_h, (top, source.display)
    assert (top["height"] > top["width"]) == (want_h > want_w), "portrait stays portrait, landscape landscape"
    # never enlarged; and as large as the top rung's box allows (a wide film keeps its full width)
    assert top["width"] <= want_w + 1 and top["height"] <= want_h + 1
    box = (1920, 1080) if want_w >= want_h else (1080, 1920)
    assert top["width"] >= min(want_w, box[0]) - 2 or top["height"] >= min(want_h, box[1]) - 2
    # and the download, the poster and the rung's own frames agree
    assert (video["renditions"][0]["width"], video["renditions"][0]["height"]) == (top["width"], top["height"])
    assert (video["poster"]["width"], video["poster"]["height"]) == (top["width"], top["height"])


@pytest.mark.parametrize("name", VIDEOS)
def test_every_frame_once_and_the_sound_exactly_when_the_source_has_it(outcomes: dict[str, Outcome], name: str):
    outcome = outcomes[name]
    source, video = outcome.source, outcome.video
    # Then the stream has each source frame once (deinterlacing keeps one frame per frame), after black frames
    # where the picture starts late (at the source's rate)
    [picture] = [s for s in _probe("-i", str(outcome.path))["streams"] if s["codec_type"] == "video"]
    lead_in = round(source.video_offset * float(Fraction(picture["avg_frame_rate"])))
    assert count_frames(*HTTP, "-i", outcome.top) == count_frames("-i", str(outcome.path)) + lead_in
    # and lasts as long as the picture's timeline (a picture that starts late still ends where it ended)
    assert abs(video["stream"]["duration_seconds"] - source.timeline_end) <= 0.1, video["stream"]
    # and has sound exactly when the source has, in the stream and in the download
    assert ("audio" in outcome.media_playlists()) == source.has_audio
    download = _probe(*DOWNLOAD, "-i", video["renditions"][0]["url"])
    assert any(s["codec_type"] == "audio" for s in download["streams"]) == source.has_audio


def _timing(video: tuple[str, ...], audio: tuple[str, ...], origin: float = 0.0) -> tuple[float, float]:
    """(when the sound starts, when the last frame is shown) on the file's timeline, from decoding it as a player
    does (edit lists obeyed, the AAC priming skipped); timestamps as stored, less the file's `origin`."""
    sound = "aresample=async=1:first_pts=0,silencedetect=noise=-40dB:duration=0.005"  # silence from 0 to the tone
    same = video == audio
    inputs = [*video] if same else [*video, *audio]
    done = subprocess.run(
        [mediatools.ffmpeg(), "-v", "info", "-nostats", "-copyts", *inputs,
         "-map", "0:v:0", "-vf", "showinfo", "-f", "null", "-",
         "-map", f"{0 if same else 1}:a:0", "-af", sound, "-f", "null", "-"],
        capture_output=True, check=True, timeout=300, text=True,
    )  # fmt: skip
    last = max(float(t) for t in re.findall(r"\bpts_time:([-\d.]+)", done.stderr))
    starts = [float(t) for t in re.findall(r"silence_start: ([-\d.e]+)", done.stderr)]
    ends = [float(t) for t in re.findall(r"silence_end: ([-\d.e]+)", done.stderr)]
    onset = ends[0] if starts and abs(starts[0]) < 0.01 and ends else 0.0
    return onset - origin, last - origin


@pytest.mark.parametrize("name", [s.name for s in CORPUS if s.has_audio and not s.refused])
def test_the_sound_stays_in_sync_in_the_stream_and_in_the_download(outcomes: dict[str, Outcome], name: str):
    outcome = outcomes[name]
    # Given when the sound starts and the last frame is shown in the source, on its own timeline
    source = ("-i", str(outcome.path))
    origin = float(_probe(*source)["format"]["start_time"])
    sound, last = _timing(source, source, origin)
    # When the stream (its best rung and its audio) and the MP4 download are decoded as a player decodes them
    playlists = outcome.media_playlists()
    stream = _timing((*HTTP, "-i", outcome.top), (*HTTP, "-i", playlists["audio"]))
    download = (*DOWNLOAD, "-i", outcome.video["renditions"][0]["url"])
    # Then both have them at the same times, within one audio frame (a late sound or picture stays late)
    tolerance = _audio_frame(_probe(*HTTP, "-i", playlists["audio"]))
    for what, (their_sound, their_last) in (("stream", stream), ("download", _timing(download, download))):
        assert abs(their_sound - sound) <= tolerance, (what, their_sound, sound)
        assert abs(their_last - last) <= tolerance, (what, their_last, last)


@pytest.mark.parametrize("name", [s.name for s in CORPUS if s.hdr])
def test_hdr_comes_out_as_sdr_bt709_in_the_stream_the_poster_and_the_thumbnails(
    outcomes: dict[str, Outcome], name: str
):
    outcome = outcomes[name]
    top = outcome.video["stream"]["renditions"][0]
    width, height = top["width"], top["height"]
    # Then the stream's frames are tagged BT.709 and their bars have the SDR values of the tone mapping
    [stream] = [s for s in _probe(*HTTP, "-i", outcome.top)["streams"] if s["codec_type"] == "video"]
    assert (stream["color_primaries"], stream["color_transfer"], stream["color_space"]) == ("bt709",) * 3
    assert stream["pix_fmt"] == "yuv420p"
    assert _close(_bars(_rgb(*HTTP, "-i", outcome.top, width=width, height=height), width, height), HDR_BARS_SDR)
    # and so are the poster's
    poster = _rgb("-i", outcome.video["poster"]["url"], width=width, height=height)
    assert _close(_bars(poster, width, height), HDR_BARS_SDR)
    # and the first seek-bar thumbnail's (the top-left of the first sprite)
    thumbs = outcome.video["thumbnails"]
    track = requests.get(outcome.video["playback"]["thumbnails"], timeout=10).text
    sprite = next(line for line in track.splitlines() if "#xywh=" in line).split("#", 1)[0]
    size = (0, 0, thumbs["width"], thumbs["height"])
    thumbnail = _rgb("-i", sprite, width=thumbs["width"], height=thumbs["height"], crop=size)
    assert _close(_bars(thumbnail, thumbs["width"], thumbs["height"]), HDR_BARS_SDR)


@pytest.mark.parametrize("name", [s.name for s in CORPUS if s.interlaced])
def test_interlaced_sources_come_out_progressive(outcomes: dict[str, Outcome], name: str):
    outcome = outcomes[name]
    # Given a source whose frames are woven fields (the detector finds them interlaced)
    assert _progressive_share("-i", str(outcome.path)) < 0.2
    # Then every rung's frames are progressive: no combing on motion, and none scaled with its fields woven
    for rung, playlist in outcome.media_playlists().items():
        if rung != "audio":
            assert _progressive_share(*HTTP, "-i", playlist) >= 0.8, rung


@pytest.mark.parametrize("name", [s.name for s in CORPUS if "chunks" in s.tags])
def test_segments_stay_on_the_grid(outcomes: dict[str, Outcome], name: str):
    outcome = outcomes[name]
    segment = outcome.video["stream"]["segment_seconds"]
    frame = 1 / 24  # longer than any source frame here
    for rung, url in outcome.media_playlists().items():
        if rung == "audio":
            continue
        durations = [float(m) for m in re.findall(r"#EXTINF:([\d.]+),", requests.get(url, timeout=10).text)]
        start = _start(_probe(*HTTP, "-i", url), "video") or 0.0
        # Then every segment but the last ends within a frame of the grid, and none is longer than a segment
        ends = [start + sum(durations[: n + 1]) for n in range(len(durations) - 1)]
        assert all(abs(end - segment * round(end / segment)) <= frame for end in ends), (rung, durations)
        assert max(durations) <= segment + frame, (rung, durations)


def test_frame_rate_in_the_master_is_the_highest_the_stream_reaches(outcomes: dict[str, Outcome]):
    outcome = outcomes["android-vfr.mp4"]
    # Given a variable-rate source: 15 fps in its dark half, 30 in its bright half (about 22 on average)
    [picture] = [s for s in _probe("-i", str(outcome.path))["streams"] if s["codec_type"] == "video"]
    average = float(Fraction(picture["avg_frame_rate"]))
    assert average < 25
    # Then FRAME-RATE is the highest rate the stream reaches (HLS asks for the maximum), not the average
    rates = [float(r) for r in re.findall(r"FRAME-RATE=([\d.]+)", outcome.master)]
    assert rates and all(29.5 <= rate <= 30.5 for rate in rates), rates


def test_a_sound_recording_is_refused_in_words(outcomes: dict[str, Outcome]):
    outcome = outcomes["voice-memo.m4a"]
    # Then the upload ends FAILED, and says why in words a person understands
    failure = outcome.video["failure"]
    assert outcome.video["status"] == "FAILED" and failure["code"] == "NO_VIDEO_STREAM"
    assert "no picture" in failure["reason"].lower()
    assert not re.search(r"0x[0-9a-f]+|\[\w+ @", failure["reason"])


@pytest.mark.parametrize("name", [s.name for s in CORPUS if s.subtitles])
def test_text_tracks_come_out_as_subtitles_in_the_master(outcomes: dict[str, Outcome], name: str):
    outcome = outcomes[name]
    # Then each text track of the source is a SUBTITLES rendition with its language, which a player can fetch
    media = [line for line in outcome.master.splitlines() if line.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")]
    assert sorted(re.search(r'LANGUAGE="([^"]+)"', line).group(1) for line in media) == sorted(outcome.source.subtitles)  # type: ignore[union-attr]
    playlist = requests.get(re.search(r'URI="([^"]+)"', media[0]).group(1), timeout=10)  # type: ignore[union-attr]
    assert playlist.status_code == 200
    track = next(line for line in playlist.text.splitlines() if line and not line.startswith("#"))
    assert "-->" in requests.get(track, timeout=10).text
