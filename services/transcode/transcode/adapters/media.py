"""The ladder encoder: one ffmpeg process that decodes once and writes every rendition and the poster."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

import mediatools
from contracts.media import Probe
from transcode.logic.gate import Accepted
from transcode.logic.ladder import Rendition

AUDIO_KBPS = 128
KEYFRAME_SECONDS = 2  # a keyframe every 2 s keeps seeking quick and allows HLS later


def tee_escape(path: Path) -> str:
    """A file name as the tee muxer reads it: its special characters escaped."""
    return "".join(f"\\{char}" if char in "\\'|[]" else char for char in str(path))


def ladder_command(
    source: Path,
    accepted: Accepted,
    renditions: list[Rendition],
    poster_at: float,
    out_dir: Path,
    *,
    preset: str = "veryfast",
    max_duration: float | None = None,
) -> tuple[list[str], dict[str, Path]]:
    """The ffmpeg argument list for the whole ladder, and the file each output goes to.

    Decoded once, the video is split into one scaled branch per rendition and a short
    poster branch. Every rendition's video and the one AAC encode of the audio go to a
    single `tee` output that writes each MP4 from its own video stream and the shared
    audio, so the audio is encoded once however many rungs there are.
    """
    input_options: dict[str, str | float] = {"f": accepted.demuxer, "protocol_whitelist": "file"}
    input_options["format_whitelist"] = ",".join(mediatools.ALLOWED_CONTAINERS)
    if max_duration:
        input_options["t"] = max_duration  # never decode past the gate's cap, whatever the file claims
    stream = ffmpeg.input(mediatools.local_input(source), **input_options)
    branches = stream["v:0"].split()

    videos: list[Any] = []
    files: dict[str, Path] = {}
    options: dict[str, str | int] = {}
    for index, rendition in enumerate(renditions):
        videos.append(branches[index].filter("scale", rendition.width, rendition.height).filter("setsar", 1))
        options[f"maxrate:v:{index}"] = f"{rendition.max_video_kbps}k"
        options[f"bufsize:v:{index}"] = f"{rendition.max_video_kbps * 2}k"
        files[rendition.name] = out_dir / f"{rendition.name}.mp4"
    options |= {
        "c:v": "libx264",
        "preset": preset,
        "crf": 23,
        "pix_fmt": "yuv420p",
        "profile:v": "high",
        "force_key_frames": f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})",
        "map_metadata": -1,
        # tee cannot tell the encoders that MP4 wants global headers, so say it
        "flags": "+global_header",
        "f": "tee",
    }
    audio = [stream["a:0"]] if accepted.has_audio else []
    if audio:
        options |= {"c:a": "aac", "b:a": f"{AUDIO_KBPS}k", "ac": 2}
    with_audio = ",a" if audio else ""
    targets = "|".join(
        rf"[f=mp4:movflags=+faststart:select=\'v:{index}{with_audio}\']{tee_escape(files[r.name])}"
        for index, r in enumerate(renditions)
    )
    renditions_output = ffmpeg.output(*videos, *audio, targets, **options)

    top = renditions[0]
    # The poster branch ends a second after its frame: an open-ended trim would scale every later frame for nothing.
    poster = (
        branches[len(renditions)]
        .trim(start=poster_at, end=poster_at + 1)
        .setpts("PTS-STARTPTS")
        .filter("scale", top.width, top.height)
    )
    files["poster"] = out_dir / "poster.jpg"
    poster_output = ffmpeg.output(poster, str(files["poster"]), **{"frames:v": 1, "q:v": 3})

    command = ffmpeg.merge_outputs(renditions_output, poster_output)
    command = command.global_args("-nostdin", "-hide_banner", "-loglevel", "error")
    return command.compile(cmd=mediatools.binaries()[0], overwrite_output=True), files


@dataclass
class FfmpegMedia:
    preset: str = "veryfast"
    max_duration: float | None = None
    probe_timeout: float = 60
    encode_timeout: float = 840

    def probe(self, source: Path) -> Probe:
        return mediatools.probe(mediatools.local_input(source), timeout=self.probe_timeout)

    def transcode(
        self, source: Path, accepted: Accepted, renditions: list[Rendition], poster_at: float, out_dir: Path
    ) -> dict[str, Path]:
        args, files = ladder_command(
            source, accepted, renditions, poster_at, out_dir, preset=self.preset, max_duration=self.max_duration
        )
        mediatools.run(
            "ffmpeg", args, timeout=self.encode_timeout, redact=[mediatools.local_input(source), str(out_dir)]
        )
        missing = [name for name, path in files.items() if not path.is_file() or path.stat().st_size == 0]
        if missing:
            raise mediatools.MediaToolError("ffmpeg", f"produced no output for {', '.join(missing)}")
        return files
