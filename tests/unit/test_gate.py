"""The ffprobe gate: which probed uploads the transcoder agrees to work on."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import FailureReason
from contracts.media import Probe
from transcode.logic.gate import Accepted, GateLimits, Rejected, check_size, inspect
from transcode.logic.picture import AS_IS

pytestmark = pytest.mark.service("transcode")

MP4 = "mov,mp4,m4a,3gp,3g2,mj2"
LIMITS = GateLimits()


def h264(width: int = 1280, height: int = 720, rate: str = "30/1", **extra: Any) -> dict[str, Any]:
    return {
        "codec_name": "h264",
        "profile": "High",
        "codec_type": "video",
        "width": width,
        "height": height,
        "coded_width": width,
        "coded_height": height,
        "pix_fmt": "yuv420p",
        "r_frame_rate": rate,
        "avg_frame_rate": rate,
        "time_base": "1/15360",
        "duration": "12.500000",
        "bit_rate": "1150000",
        "disposition": {"default": 1, "attached_pic": 0},
        "tags": {"language": "und", "handler_name": "VideoHandler"},
        **extra,
    }


def aac() -> dict[str, Any]:
    return {
        "codec_name": "aac",
        "codec_type": "audio",
        "sample_rate": "48000",
        "channels": 2,
        "channel_layout": "stereo",
        "r_frame_rate": "0/0",
        "avg_frame_rate": "0/0",
        "duration": "12.480000",
        "bit_rate": "128000",
        "disposition": {"default": 1, "attached_pic": 0},
    }


def cover_art() -> dict[str, Any]:
    return h264(600, 600, "90000/1", codec_name="mjpeg", disposition={"default": 0, "attached_pic": 1})


def ffprobe(
    *streams: dict[str, Any], format_name: str = MP4, duration: str | None = "12.500000", start: str = "0.000000"
) -> Probe:
    """A Probe from a dict shaped like `ffprobe -show_format -show_streams -of json`."""
    fmt: dict[str, Any] = {
        "filename": "file:/tmp/transcode-x/source",
        "nb_streams": len(streams),
        "format_name": format_name,
        "format_long_name": "QuickTime / MOV",
        "start_time": start,
        "size": "2000000",
        "bit_rate": "1280000",
        "probe_score": 100,
    }
    if duration is not None:
        fmt["duration"] = duration
    return Probe.model_validate({"streams": [{"index": i, **s} for i, s in enumerate(streams)], "format": fmt})


def test_a_normal_mp4_is_accepted() -> None:
    # Given an mp4 with one h264 1280x720 30 fps video stream and one aac audio stream
    probe = ffprobe(h264(), aac())

    # When the gate inspects it
    accepted = inspect(probe, LIMITS)

    # Then it is accepted, read with the mov demuxer
    assert accepted == Accepted(
        demuxer="mov", width=1280, height=720, duration=12.5, fps=30.0, has_audio=True, video_seconds=12.5
    )


@pytest.mark.parametrize("format_name", ["matroska,webm", "webm", "matroska"])
def test_matroska_and_webm_use_the_matroska_demuxer(format_name: str) -> None:
    # Given a Matroska/WebM file with video only
    probe = ffprobe(h264(codec_name="vp9"), format_name=format_name)

    # When the gate inspects it
    accepted = inspect(probe, LIMITS)

    # Then it is read with the matroska demuxer and has no audio
    assert accepted.demuxer == "matroska"
    assert accepted.has_audio is False


@pytest.mark.parametrize(
    "rotation",
    [
        {"side_data_list": [{"side_data_type": "Display Matrix", "displaymatrix": "...", "rotation": -90}]},
        {"side_data_list": [{"side_data_type": "Display Matrix", "rotation": 90}]},
        {"tags": {"rotate": "270"}},
    ],
    ids=["display-matrix-minus-90", "display-matrix-90", "legacy-rotate-tag"],
)
def test_a_rotated_phone_video_is_portrait(rotation: dict[str, Any]) -> None:
    # Given a phone video coded 1920x1080 with a display rotation of a quarter turn
    probe = ffprobe(h264(1920, 1080, **rotation), aac())

    # When the gate inspects it
    accepted = inspect(probe, LIMITS)

    # Then it is shown (and so laddered) as 1080x1920
    assert (accepted.width, accepted.height) == (1080, 1920)


REJECTED = {
    "hls playlist": (ffprobe(h264(), format_name="hls"), FailureReason.UNSUPPORTED_CONTAINER),
    "concat list": (ffprobe(h264(), format_name="concat"), FailureReason.UNSUPPORTED_CONTAINER),
    "image sequence": (ffprobe(h264(), format_name="image2"), FailureReason.UNSUPPORTED_CONTAINER),
    "mp4 mixed with hls": (ffprobe(h264(), format_name="mov,mp4,hls"), FailureReason.UNSUPPORTED_CONTAINER),
    "audio only": (ffprobe(aac()), FailureReason.NO_VIDEO_STREAM),
    "cover art only": (ffprobe(aac(), cover_art()), FailureReason.NO_VIDEO_STREAM),
    "8K": (ffprobe(h264(7680, 4320)), FailureReason.RESOLUTION_TOO_HIGH),
    "portrait 8K": (ffprobe(h264(4320, 7680)), FailureReason.RESOLUTION_TOO_HIGH),
    "120 fps": (ffprobe(h264(rate="120/1")), FailureReason.FRAME_RATE_TOO_HIGH),
    "ten hours": (ffprobe(h264(), duration="36000.000000"), FailureReason.DURATION_TOO_LONG),
    "ten streams": (ffprobe(h264(), *[aac() for _ in range(9)]), FailureReason.TOO_MANY_STREAMS),
    "no duration": (
        ffprobe({k: v for k, v in h264().items() if k != "duration"}, aac(), duration=None),
        FailureReason.UNREADABLE_MEDIA,
    ),
    "no frame size": (
        ffprobe({k: v for k, v in h264().items() if k not in ("width", "height")}),
        FailureReason.UNREADABLE_MEDIA,
    ),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_the_gate_rejects_with_the_right_reason(case: str) -> None:
    # Given a probe of a file the transcoder must not work on
    probe, reason = REJECTED[case]

    # When the gate inspects it
    with pytest.raises(Rejected) as rejected:
        inspect(probe, LIMITS)

    # Then it is rejected for the right reason
    assert rejected.value.reason is reason
    assert rejected.value.detail


def test_video_duration_is_used_when_the_format_has_none() -> None:
    # Given a file whose format has no duration but whose video stream has one
    probe = ffprobe(h264(), duration=None)

    # When the gate inspects it
    accepted = inspect(probe, LIMITS)

    # Then the stream's duration is used
    assert accepted.duration == 12.5


@pytest.mark.parametrize(
    ("size", "reason"),
    [(0, FailureReason.EMPTY_FILE), (LIMITS.max_source_bytes + 1, FailureReason.FILE_TOO_LARGE)],
    ids=["empty", "too-large"],
)
def test_check_size_rejects(size: int, reason: FailureReason) -> None:
    # Given an object size outside the limits
    # When it is checked
    with pytest.raises(Rejected) as rejected:
        check_size(size, LIMITS)

    # Then it is rejected for the right reason
    assert rejected.value.reason is reason


@pytest.mark.parametrize("size", [None, 1, LIMITS.max_source_bytes])
def test_check_size_passes(size: int | None) -> None:
    # Given an unknown size, or one within the limits
    # When it is checked
    result = check_size(size, LIMITS)

    # Then it passes
    assert result is None


def test_check_size_uses_the_limits_given() -> None:
    # Given a low configured limit
    limits = GateLimits(max_source_bytes=100)

    # When a size just above it is checked
    with pytest.raises(Rejected) as rejected:
        check_size(101, limits)

    # Then it is too large
    assert rejected.value.reason is FailureReason.FILE_TOO_LARGE


# --- what people upload: containers, pixel shapes, fields, HDR, timelines (issue: every real video) ----------


@pytest.mark.parametrize(
    ("format_name", "demuxer"),
    [
        ("mpegts", "mpegts"),
        ("mpeg", "mpeg"),
        ("avi", "avi"),
        ("gif", "gif"),
        ("matroska,webm", "matroska"),
        (MP4, "mov"),
    ],
    ids=["ts-mts-m2ts", "mpg-vob", "avi", "gif", "mkv-webm", "mp4-mov"],
)
def test_camera_broadcast_and_animation_containers_are_read_by_their_own_demuxer(format_name: str, demuxer: str):
    # Given a probe of a camera's, a broadcast's, a DVD's, an old camera's or an animation's container
    accepted = inspect(ffprobe(h264(nb_frames="375"), format_name=format_name), LIMITS)
    # Then it is accepted, and the demuxer forced on every later read is that container's own
    assert accepted.demuxer == demuxer


def test_anamorphic_sd_is_shown_at_its_display_aspect_and_portrait_turns():
    # Given 720x480 with pixels 32:27 wide (16:9 on screen), and the same picture recorded sideways
    wide = inspect(ffprobe(h264(720, 480, sample_aspect_ratio="32:27")), LIMITS)
    turned = inspect(ffprobe(h264(720, 480, sample_aspect_ratio="32:27", side_data_list=[{"rotation": -90}])), LIMITS)
    # Then its size is what is seen: the width stretched, then turned
    assert (wide.width, wide.height) == (853, 480)
    assert (turned.width, turned.height) == (480, 853)


def test_what_each_frame_needs_is_read_from_the_probe():
    # Given an interlaced broadcast, an iPhone's HLG, a PQ film, a BT.2020 SDR clip and a phone's variable rate
    broadcast = inspect(ffprobe(h264(field_order="tt")), LIMITS)
    hlg = inspect(ffprobe(h264(color_transfer="arib-std-b67", color_primaries="bt2020")), LIMITS)
    pq = inspect(ffprobe(h264(color_transfer="smpte2084", color_primaries="bt2020")), LIMITS)
    wide = inspect(ffprobe(h264(color_transfer="bt2020-10", color_primaries="bt2020")), LIMITS)
    phone = inspect(ffprobe(h264(rate="30/1", avg_frame_rate="22/1")), LIMITS)
    progressive = inspect(ffprobe(h264(field_order="progressive")), LIMITS)
    # Then each says what it needs, and nothing else
    assert broadcast.picture.deinterlace and not progressive.picture.deinterlace
    assert (hlg.picture.tone_map, pq.picture.tone_map, wide.picture.tone_map) == ("hlg", "pq", None)
    assert wide.picture.to_bt709 and not (progressive.picture.to_bt709 or hlg.picture.to_bt709)
    assert phone.picture.variable_rate and not progressive.picture.variable_rate
    assert progressive.picture == AS_IS


def test_a_picture_that_starts_late_ends_where_it_ends():
    # Given a picture from 1.0 s to 8.0 s beside sound from 0 (the file's clock starting at 10 s, as in a TS)
    picture = h264(start_time="11.000000", duration="7.000000")
    late = ffprobe(picture, aac() | {"start_time": "10.000000"}, duration="8.000000", start="10.000000")
    accepted = inspect(late, LIMITS)
    # Then the picture starts 1 s into the timeline and ends at 8 s, not at its own length of 7 s
    assert (accepted.video_offset, accepted.video_seconds) == (1.0, 8.0)


@pytest.mark.parametrize(("frames", "refused"), [("240", False), ("20001", True), (None, True)])
def test_an_animation_with_too_many_or_uncounted_frames_is_refused(frames: str | None, refused: bool):
    # Given an animated GIF (its clock says 100 fps, its frames come 60 ms apart)
    gif = h264(320, 240, rate="100/1", codec_name="gif", avg_frame_rate="50/3", nb_frames=frames)
    # When the gate reads it
    if not refused:
        # Then a real animation is accepted at its own average rate
        assert inspect(ffprobe(gif, format_name="gif"), LIMITS).fps == pytest.approx(16.667)
        return
    with pytest.raises(Rejected) as rejected:
        inspect(ffprobe(gif, format_name="gif"), LIMITS)
    # Then a GIF bomb (or one that does not say how many frames it has) is refused, as too long
    assert rejected.value.reason == FailureReason.DURATION_TOO_LONG
