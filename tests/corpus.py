"""Real-world-shaped sources, made on the spot with the bundled ffmpeg: what phones, cameras, editors and
broadcasts really upload, each a couple of seconds and small, with what a person should get out of it.

Every source is a test pattern whose picture can be checked after the transcode: colour bars for HDR
(each bar's SDR value is known), motion for interlacing, and a known display size and shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.media import ffmpeg, make_subtitled_clip

SECONDS = 2.0
# Four vertical bars (SDR BT.709, full range): white, red, 75 % grey, 25 % grey. Made HDR with SDR white at
# HDR reference white (203 nits: HLG's 75 %, PQ's 58 %), as BT.2408 places it.
BARS = ("FFFFFF", "FF0000", "BFBFBF", "404040")
# What the bars read after the HDR -> SDR tone mapping (measured on ffmpeg 9.0.2's zscale + Hable, with the
# tolerance below): reference white comes out near 75 % (191), the 75 % grey near 62 % (159).
HDR_BARS_SDR = ((193, 193, 193), (192, 0, 0), (159, 159, 159), (66, 66, 66))
HDR_TOLERANCE = 16  # per channel, 0-255 (6 %): x264 and JPEG rounding, and 4:2:0 chroma of a saturated red


@dataclass(frozen=True)
class Source:
    """One upload, and what a person should see come out of it."""

    name: str  # the file name uploaded
    display: tuple[int, int]  # the picture as meant to be seen: SAR applied, rotated
    has_audio: bool
    video_offset: float = 0.0  # when the picture starts after the sound (the file's timeline)
    audio_offset: float = 0.0  # when the sound starts after the picture
    seconds: float = SECONDS  # how long the picture lasts
    interlaced: bool = False
    hdr: bool = False
    subtitles: tuple[str, ...] = ()  # the languages of its text tracks
    refused: str | None = None  # the failure code, for what must not become a video
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def timeline_end(self) -> float:
        return self.video_offset + self.seconds


def _bars(width: int, height: int, seconds: float, rate: str = "25") -> str:
    column = width // len(BARS)
    inputs = ";".join(f"color=c=0x{c}:s={column}x{height}:r={rate}:d={seconds}[b{i}]" for i, c in enumerate(BARS))
    joined = "".join(f"[b{i}]" for i in range(len(BARS)))
    # tagged as what it is (sRGB-like full-range RGB), so zscale knows where it starts from
    return (
        f"{inputs};{joined}hstack={len(BARS)},format=gbrp,"
        "setparams=color_primaries=bt709:color_trc=iec61966-2-1:colorspace=gbr:range=pc"
    )


def _hdr(transfer: str) -> str:
    """The filter turning the bars into 10-bit BT.2020 with an HDR transfer (SDR white at 203 nits)."""
    return (
        "zscale=t=linear:npl=203,format=gbrpf32le,"
        f"zscale=p=2020:t={transfer}:m=2020_ncl:r=limited:npl=203,format=yuv420p10le"
    )


def _hevc_hdr(transfer: str) -> list[str]:
    return ["-c:v", "libx265", "-x265-params", "log-level=error", "-preset", "ultrafast", "-tag:v", "hvc1",
            "-color_primaries", "bt2020", "-color_trc", transfer, "-colorspace", "bt2020nc"]  # fmt: skip


def _tone(seconds: float = SECONDS, *, rate: int = 48000, layout: str = "stereo") -> list[str]:
    tone = f"sine=frequency=440:sample_rate={rate}:duration={seconds},aformat=channel_layouts={layout}"
    return ["-f", "lavfi", "-i", tone]


def _motion(width: int, height: int, rate: str, seconds: float) -> list[str]:
    """Moving pattern woven into fields, top field first: what an interlaced camera records."""
    double = f"testsrc2=s={width}x{height}:r={rate}*2:d={seconds},interlace=scan=tff:lowpass=0"
    return ["-f", "lavfi", "-i", double]


def make(source: Source, folder: Path) -> Path:
    """Write the source's file into the folder."""
    path = folder / source.name
    MAKERS[source.name](path, source.seconds)
    return path


def _iphone_hlg(path: Path, seconds: float) -> None:
    # an iPhone's default: HEVC 10-bit HLG, recorded sideways and rotated by its display matrix
    flat = path.with_name("hlg-unrotated.mov")
    ffmpeg("-f", "lavfi", "-i", _bars(640, 360, seconds, "30"), *_tone(seconds), "-vf", _hdr("arib-std-b67"),
           *_hevc_hdr("arib-std-b67"), "-c:a", "aac", "-shortest", str(flat))  # fmt: skip
    ffmpeg("-display_rotation", "90", "-i", str(flat), "-c", "copy", str(path))


def _pq(path: Path, seconds: float) -> None:
    ffmpeg("-f", "lavfi", "-i", _bars(640, 360, seconds), *_tone(seconds), "-vf", _hdr("smpte2084"),
           *_hevc_hdr("smpte2084"), "-c:a", "libopus", "-shortest", str(path))  # fmt: skip


def _android_vfr(path: Path, seconds: float) -> None:
    # variable frame rate as a phone records it: 15 fps in low light (the first half), then 30 with a few ms of
    # jitter; mono sound at 44.1 kHz
    half = seconds / 2
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=320x180:r=30:d={seconds}", *_tone(seconds, rate=44100, layout="mono"),
           "-vf", f"select='gte(t,{half})+not(mod(n,2))',setpts='PTS+0.004*sin(N)/TB'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
           str(path))  # fmt: skip


def _avchd(path: Path, seconds: float) -> None:
    # an AVCHD camera's .MTS: 1080i H.264 in M2TS (192-byte packets), AC-3 5.1
    ffmpeg(*_motion(1920, 1080, "30000/1001", seconds), *_tone(seconds, layout="5.1"),
           "-c:v", "libx264", "-preset", "ultrafast",
           "-flags", "+ilme+ildct", "-x264-params", "tff=1", "-pix_fmt", "yuv420p", "-c:a", "ac3",
           "-f", "mpegts", "-mpegts_m2ts_mode", "1", str(path))  # fmt: skip


def _broadcast(path: Path, seconds: float) -> None:
    # a broadcast recording: 576i MPEG-2, 16:9 anamorphic (SAR 64:45), MP2 sound, the TS clock not at 0
    ffmpeg(*_motion(720, 576, "25", seconds), *_tone(seconds), "-vf", "setsar=64/45",
           "-c:v", "mpeg2video", "-b:v", "6M", "-flags", "+ilme+ildct", "-c:a", "mp2",
           "-f", "mpegts", str(path))  # fmt: skip


def _dvd(path: Path, seconds: float) -> None:
    # a DVD-style .mpg: MPEG-PS, 480i MPEG-2 shown 16:9 (720x480, SAR 32:27), AC-3
    ffmpeg(*_motion(720, 480, "30000/1001", seconds), *_tone(seconds), "-vf", "setsar=32/27",
           "-c:v", "mpeg2video", "-b:v", "6M", "-flags", "+ilme+ildct", "-c:a", "ac3",
           "-f", "vob", str(path))  # fmt: skip


def _camera_avi(path: Path, seconds: float) -> None:
    # an old digital camera's .AVI: Motion JPEG with 8-bit mono PCM at 11.025 kHz
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=320x240:r=15:d={seconds}", *_tone(seconds, rate=11025, layout="mono"),
           "-c:v", "mjpeg", "-q:v", "5", "-pix_fmt", "yuvj420p", "-c:a", "pcm_u8", "-shortest", str(path))  # fmt: skip


def _prores(path: Path, seconds: float) -> None:
    # an editor's export: ProRes 422 with PCM sound in MOV
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=640x360:r=24:d={seconds}", *_tone(seconds), "-c:v", "prores_ks",
           "-profile:v", "2", "-c:a", "pcm_s16le", "-shortest", str(path))  # fmt: skip


def _film(path: Path, seconds: float) -> None:
    # a 2.39:1 film, wider than 16:9: it must keep its full 1918 pixels
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=1918x802:r=24:d={seconds}", *_tone(seconds), "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path))  # fmt: skip


def _audio_late(path: Path, seconds: float) -> None:
    # the sound starts 1 s after the picture (a camera that starts recording sound late)
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={seconds}", "-itsoffset", "1",
           *_tone(seconds - 1, rate=22050, layout="mono"), "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", str(path))  # fmt: skip


def _video_late(path: Path, seconds: float) -> None:
    # the picture starts 1 s after the sound, and runs to the end
    ffmpeg("-itsoffset", "1", "-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={seconds}",
           *_tone(seconds + 1), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", str(path))  # fmt: skip


def _gif(path: Path, seconds: float) -> None:
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=320x240:r=15:d={seconds}", "-f", "gif", str(path))


def _silent_vp9(path: Path, seconds: float) -> None:
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={seconds}", "-c:v", "libvpx-vp9", "-deadline",
           "realtime", "-cpu-used", "8", "-b:v", "300k", str(path))  # fmt: skip


def _subtitled(path: Path, seconds: float) -> None:
    make_subtitled_clip(path, seconds=seconds, tracks=[
        {"cues": [(0.5, 1.5, "Hello")], "language": "eng", "title": "English"},
        {"cues": [(0.5, 1.5, "Bonjour")], "language": "fre"},
    ])  # fmt: skip


def _sound_only(path: Path, seconds: float) -> None:
    ffmpeg(*_tone(seconds), "-c:a", "aac", str(path))


CORPUS = (
    Source("IMG_0042.MOV", (360, 640), True, hdr=True, tags=("hdr", "hlg", "portrait")),
    Source("sunset-pq.mkv", (640, 360), True, hdr=True, tags=("hdr", "pq")),
    # longer than two chunks (the corpus stack cuts every 6 s): segments and chunk edges on a variable rate
    Source("android-vfr.mp4", (320, 180), True, seconds=13.0, tags=("vfr", "mono", "chunks")),
    Source("00001.MTS", (1920, 1080), True, interlaced=True, tags=("m2ts", "1080i", "5.1")),
    Source("news.ts", (1024, 576), True, interlaced=True, tags=("mpegts", "576i", "anamorphic")),
    Source("VTS_01_1.mpg", (853, 480), True, interlaced=True, tags=("mpeg-ps", "480i", "anamorphic")),
    Source("DSCF0001.AVI", (320, 240), True, tags=("avi", "mjpeg", "pcm", "11kHz")),
    Source("edit.mov", (640, 360), True, tags=("prores", "pcm")),
    Source("scope.mp4", (1918, 802), True, tags=("2.39:1",)),
    Source("late-sound.mp4", (320, 180), True, audio_offset=1.0, tags=("audio-late", "22.05kHz")),
    Source("late-picture.mp4", (320, 180), True, video_offset=1.0, tags=("video-late",)),
    Source("party.gif", (320, 240), False, tags=("gif",)),
    Source("silent.webm", (320, 180), False, seconds=13.0, tags=("vp9", "no-audio", "chunks")),
    Source("talk.mkv", (320, 180), True, subtitles=("en", "fr"), tags=("srt",)),
    Source("voice-memo.m4a", (0, 0), True, refused="NO_VIDEO_STREAM", tags=("audio-only",)),
)

MAKERS = {
    "IMG_0042.MOV": _iphone_hlg,
    "sunset-pq.mkv": _pq,
    "android-vfr.mp4": _android_vfr,
    "00001.MTS": _avchd,
    "news.ts": _broadcast,
    "VTS_01_1.mpg": _dvd,
    "DSCF0001.AVI": _camera_avi,
    "edit.mov": _prores,
    "scope.mp4": _film,
    "late-sound.mp4": _audio_late,
    "late-picture.mp4": _video_late,
    "party.gif": _gif,
    "silent.webm": _silent_vp9,
    "talk.mkv": _subtitled,
    "voice-memo.m4a": _sound_only,
}
