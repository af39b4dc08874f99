"""The ffprobe gate: what the transcoder agrees to work on. Pure: it reads a probe result."""

from __future__ import annotations

from dataclasses import dataclass

from contracts import FailureReason
from contracts.media import Probe
from mediatools import ALLOWED_CONTAINERS
from transcode.logic.picture import AS_IS, Picture


class Rejected(Exception):
    """The upload cannot become a video. Terminal: retrying gives the same answer."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class GateLimits:
    max_source_bytes: int = 5 * 1024**3
    max_duration_seconds: float = 4 * 3600.0
    max_long_side: int = 3840
    max_short_side: int = 2160
    max_fps: float = 60.0
    max_streams: int = 8
    max_animation_frames: int = 20_000  # an animated GIF: 5.5 min at 60 fps; beyond is a bomb, not an animation


@dataclass(frozen=True)
class Accepted:
    """A source the gate let through, with what the transcoder needs to know."""

    demuxer: str
    width: int  # as shown: pixels made square, rotation applied
    height: int
    duration: float
    fps: float | None
    has_audio: bool
    video_seconds: float = 0.0  # where the picture ends on the file's timeline
    video_offset: float = 0.0  # where it starts (after the sound: a camera that starts the picture late)
    picture: Picture = AS_IS  # what each frame needs


def check_size(size: int | None, limits: GateLimits) -> None:
    if size == 0:
        raise Rejected(FailureReason.EMPTY_FILE, "the uploaded file is empty")
    if size is not None and size > limits.max_source_bytes:
        raise Rejected(
            FailureReason.FILE_TOO_LARGE, f"{size} bytes is more than the limit of {limits.max_source_bytes}"
        )


# ffprobe's name for a container -> the one demuxer ffmpeg is forced to read it with
DEMUXERS = {
    "mov": "mov", "mp4": "mov", "m4a": "mov", "3gp": "mov", "3g2": "mov", "mj2": "mov",
    "matroska": "matroska", "webm": "matroska",
    "mpegts": "mpegts",  # .ts, and AVCHD / Blu-ray .mts / .m2ts (192-byte packets): the same demuxer
    "mpeg": "mpeg",  # MPEG-PS: .mpg, .vob
    "avi": "avi",
    "gif": "gif",
}  # fmt: skip


def demuxer_for(format_name: str) -> str:
    """The one demuxer to force when decoding, so ffmpeg cannot pick another one."""
    names = set(format_name.split(","))
    if not names or not names <= set(ALLOWED_CONTAINERS) or not names <= set(DEMUXERS):
        raise Rejected(FailureReason.UNSUPPORTED_CONTAINER, f"container {format_name!r} is not accepted")
    return DEMUXERS[sorted(names)[0]]


def inspect(probe: Probe, limits: GateLimits) -> Accepted:
    demuxer = demuxer_for(probe.format.format_name)
    if len(probe.streams) > limits.max_streams:
        raise Rejected(
            FailureReason.TOO_MANY_STREAMS, f"{len(probe.streams)} streams; at most {limits.max_streams} accepted"
        )
    video = probe.video
    if video is None:
        raise Rejected(FailureReason.NO_VIDEO_STREAM, "the file has no video stream")
    size = video.display_size
    if size is None:
        raise Rejected(FailureReason.UNREADABLE_MEDIA, "the video stream has no frame size")
    long_side, short_side = max(size), min(size)
    if long_side > limits.max_long_side or short_side > limits.max_short_side:
        raise Rejected(
            FailureReason.RESOLUTION_TOO_HIGH,
            f"{size[0]}x{size[1]} is above {limits.max_long_side}x{limits.max_short_side}",
        )
    fps = video.average_fps if demuxer == "gif" else video.fps  # a GIF's delays say its rate, not its clock
    if fps is not None and fps > limits.max_fps:
        raise Rejected(FailureReason.FRAME_RATE_TOO_HIGH, f"{fps:g} fps is above {limits.max_fps:g}")
    duration = probe.duration
    if duration is None or duration <= 0:
        raise Rejected(FailureReason.UNREADABLE_MEDIA, "the file does not say how long it is")
    if duration > limits.max_duration_seconds:
        raise Rejected(
            FailureReason.DURATION_TOO_LONG,
            f"{duration:.0f}s is longer than the limit of {limits.max_duration_seconds:.0f}s",
        )
    frames = video.frames
    if demuxer == "gif" and (frames is None or frames > limits.max_animation_frames):
        raise Rejected(
            FailureReason.DURATION_TOO_LONG,
            f"an animation of {frames if frames is not None else 'uncounted'} frames; "
            f"at most {limits.max_animation_frames} accepted",
        )
    video_seconds = min(probe.video_end or duration, duration)
    return Accepted(
        demuxer=demuxer,
        width=size[0],
        height=size[1],
        duration=duration,
        fps=fps,
        has_audio=probe.audio is not None,
        video_seconds=video_seconds,
        video_offset=probe.offset(video),
        picture=Picture(
            deinterlace=video.interlaced,
            tone_map=video.dynamic_range,
            to_bt709=video.color_primaries == "bt2020" and not video.dynamic_range,  # tone mapping does it for HDR
            variable_rate=video.variable_rate,
        ),
    )
