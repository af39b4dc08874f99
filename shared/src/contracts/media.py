"""What ffprobe reports about a file, and the technical metadata the catalog keeps.

ffprobe's JSON is an outside shape (like S3's events): unknown fields are ignored.
`MediaSummary` is ours: the metadata the catalog stores and the API returns.
"""

from __future__ import annotations

from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field


class _ProbeShape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _rate(text: str | None) -> float | None:
    try:
        value = Fraction(text) if text else None
    except (ValueError, ZeroDivisionError):
        return None
    return round(float(value), 3) if value else None


def _number(text: str | int | float | None) -> float | None:
    try:
        return float(text) if text not in (None, "", "N/A") else None
    except (TypeError, ValueError):
        return None


class ProbeStream(_ProbeShape):
    index: int
    codec_type: str | None = None
    codec_name: str | None = None
    width: int | None = None
    height: int | None = None
    avg_frame_rate: str | None = None
    r_frame_rate: str | None = None
    time_base: str | None = None
    start_time: str | None = None
    bit_rate: str | None = None
    duration: str | None = None
    channels: int | None = None
    sample_rate: str | None = None
    nb_frames: str | None = None
    pix_fmt: str | None = None
    sample_aspect_ratio: str | None = None
    field_order: str | None = None
    color_transfer: str | None = None
    color_primaries: str | None = None
    color_space: str | None = None
    side_data_list: list[dict] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    disposition: dict[str, int] = Field(default_factory=dict)

    @property
    def fps(self) -> float | None:
        return _rate(self.avg_frame_rate) or _rate(self.r_frame_rate)

    @property
    def average_fps(self) -> float | None:
        """Frames per second over the whole stream (no guess from the time base: a GIF's says 100)."""
        return _rate(self.avg_frame_rate)

    @property
    def rotation(self) -> int:
        """Display rotation in degrees (phones record sideways and say so here)."""
        for side_data in self.side_data_list:
            if "rotation" in side_data:
                return int(float(side_data["rotation"])) % 360
        return int(float(self.tags.get("rotate", 0) or 0)) % 360

    @property
    def sample_aspect(self) -> Fraction:
        """The shape of one pixel (anamorphic SD: 32:27 for 16:9 on a 720x480 frame); 1 when unknown."""
        try:
            value = Fraction(str(self.sample_aspect_ratio).replace(":", "/"))
        except (ValueError, ZeroDivisionError):
            return Fraction(1)
        return value if value > 0 else Fraction(1)

    @property
    def display_size(self) -> tuple[int, int] | None:
        """The picture as it is meant to be seen: pixels made square (the width stretched), then rotated."""
        if not self.width or not self.height:
            return None
        width = max(1, round(self.width * self.sample_aspect))
        if self.rotation in (90, 270):
            return self.height, width
        return width, self.height

    @property
    def variable_rate(self) -> bool:
        """Frames at irregular times: the mean rate is more than 1 % off the rate the timestamps are built on."""
        average, base = _rate(self.avg_frame_rate), _rate(self.r_frame_rate)
        return bool(average and base and abs(average - base) > 0.01 * base)

    @property
    def interlaced(self) -> bool:
        """Fields woven into frames (1080i, SD broadcast, DV): they need deinterlacing."""
        return self.field_order in ("tt", "bb", "tb", "bt")

    @property
    def dynamic_range(self) -> str | None:
        """HDR: "hlg" or "pq" (what phones record); None for SDR."""
        return {"arib-std-b67": "hlg", "smpte2084": "pq"}.get(self.color_transfer or "")

    @property
    def frames(self) -> int | None:
        """The frame count the container declares (a GIF's is counted by the demuxer), if any."""
        number = _number(self.nb_frames)
        return int(number) if number is not None else None


class ProbeFormat(_ProbeShape):
    format_name: str
    start_time: str | None = None
    duration: str | None = None
    size: str | None = None
    bit_rate: str | None = None
    nb_streams: int | None = None


class Probe(_ProbeShape):
    format: ProbeFormat
    streams: list[ProbeStream] = Field(default_factory=list)

    @property
    def video(self) -> ProbeStream | None:
        """The main video stream (cover art attached as a picture does not count)."""
        return next(
            (s for s in self.streams if s.codec_type == "video" and not s.disposition.get("attached_pic")),
            None,
        )

    @property
    def audio(self) -> ProbeStream | None:
        return next((s for s in self.streams if s.codec_type == "audio"), None)

    @property
    def duration(self) -> float | None:
        return _number(self.format.duration) or (_number(self.video.duration) if self.video else None)

    def offset(self, stream: ProbeStream) -> float:
        """When the stream starts on the file's timeline, whose 0 is the earliest stream's start (what
        ffmpeg's `-copyts -start_at_zero` gives): a picture that starts 1 s after the sound is at 1.0."""
        start, origin = _number(stream.start_time), _number(self.format.start_time)
        return max(0.0, round(start - origin, 6)) if start is not None and origin is not None else 0.0

    @property
    def video_end(self) -> float | None:
        """Where the picture ends on the file's timeline: its start plus its own duration (the file's when the
        stream declares none, as in Matroska)."""
        video = self.video
        own = _number(video.duration) if video else None
        if video is None or not own:
            return self.duration
        return round(self.offset(video) + own, 6)


class VideoTrack(BaseModel):
    codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    bitrate: int | None
    duration_seconds: float | None


class AudioTrack(BaseModel):
    codec: str | None
    channels: int | None
    sample_rate: int | None
    bitrate: int | None


class MediaSummary(BaseModel):
    container: str
    duration_seconds: float | None
    size_bytes: int | None
    bitrate: int | None
    video: VideoTrack | None
    audio: AudioTrack | None


def _int(text: str | int | None) -> int | None:
    number = _number(text)
    return int(number) if number is not None else None


def summarise(probe: Probe) -> MediaSummary:
    video, audio = probe.video, probe.audio
    return MediaSummary(
        container=probe.format.format_name,
        duration_seconds=probe.duration,
        size_bytes=_int(probe.format.size),
        bitrate=_int(probe.format.bit_rate),
        video=VideoTrack(
            codec=video.codec_name,
            width=(video.display_size or (None, None))[0],
            height=(video.display_size or (None, None))[1],
            fps=video.fps,
            bitrate=_int(video.bit_rate),
            duration_seconds=_number(video.duration),
        )
        if video
        else None,
        audio=AudioTrack(
            codec=audio.codec_name,
            channels=audio.channels,
            sample_rate=_int(audio.sample_rate),
            bitrate=_int(audio.bit_rate),
        )
        if audio
        else None,
    )
