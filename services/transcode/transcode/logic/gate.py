"""The ffprobe gate: what the transcoder agrees to work on. Pure: it reads a probe result."""

from __future__ import annotations

from dataclasses import dataclass

from contracts import FailureReason
from contracts.media import Probe
from mediatools import ALLOWED_CONTAINERS


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


@dataclass(frozen=True)
class Accepted:
    """A source the gate let through, with what the transcoder needs to know."""

    demuxer: str
    width: int
    height: int
    duration: float
    fps: float | None
    has_audio: bool


def check_size(size: int | None, limits: GateLimits) -> None:
    if size == 0:
        raise Rejected(FailureReason.EMPTY_FILE, "the uploaded file is empty")
    if size is not None and size > limits.max_source_bytes:
        raise Rejected(
            FailureReason.FILE_TOO_LARGE, f"{size} bytes is more than the limit of {limits.max_source_bytes}"
        )


def demuxer_for(format_name: str) -> str:
    """The one demuxer to force when decoding, so ffmpeg cannot pick another one."""
    names = set(format_name.split(","))
    if not names or not names <= set(ALLOWED_CONTAINERS):
        raise Rejected(FailureReason.UNSUPPORTED_CONTAINER, f"container {format_name!r} is not accepted")
    return "mov" if "mov" in names else "matroska"


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
    fps = video.fps
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
    return Accepted(
        demuxer=demuxer, width=size[0], height=size[1], duration=duration, fps=fps, has_audio=probe.audio is not None
    )
