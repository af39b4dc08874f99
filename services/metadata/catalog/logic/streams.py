"""The technical metadata of an HLS package, from what the transcoder says about it (no file to probe)."""

from __future__ import annotations

from contracts import StreamPackage
from contracts.media import AudioTrack, MediaSummary, VideoTrack

# RFC 6381 sample entries (the CODECS attribute of an HLS variant) -> ffprobe's codec names
VIDEO_CODECS = {"avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc", "av01": "av1", "vp09": "vp9"}
AUDIO_CODECS = {"mp4a": "aac", "ac-3": "ac3", "ec-3": "eac3", "opus": "opus", "flac": "flac", "fLaC": "flac"}


def _codec(codecs: str, names: dict[str, str]) -> str | None:
    """The first codec of the kind `names` knows in a CODECS string ("avc1.64001f,mp4a.40.2")."""
    for entry in codecs.split(","):
        sample_entry = entry.strip().split(".", 1)[0]
        if sample_entry in names:
            return names[sample_entry]
    return None


def stream_summary(stream: StreamPackage, duration_seconds: float) -> MediaSummary:
    """A MediaSummary of the package's best rung: its size, frame rate, codecs and average bitrate (audio included).

    What only a probe of a file knows (byte size, channels, sample rate, per-track bitrates) stays None.
    """
    top = stream.renditions[0]
    return MediaSummary(
        container="hls",
        duration_seconds=duration_seconds,
        size_bytes=None,
        bitrate=top.average_bandwidth,
        video=VideoTrack(
            codec=_codec(top.codecs, VIDEO_CODECS),
            width=top.width,
            height=top.height,
            fps=top.frame_rate,
            bitrate=None,
            duration_seconds=duration_seconds,
        ),
        audio=AudioTrack(codec=_codec(top.codecs, AUDIO_CODECS), channels=None, sample_rate=None, bitrate=None)
        if stream.audio
        else None,
    )
