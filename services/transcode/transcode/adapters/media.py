"""The ladder encoder: one ffmpeg process that decodes once and writes every rendition and the poster."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ffmpeg

import mediatools
from contracts.media import Probe
from transcode.logic.gate import Accepted
from transcode.logic.ladder import Rendition

AUDIO_KBPS = 128
KEYFRAME_SECONDS = 2  # a keyframe every 2 s keeps seeking quick and allows HLS later


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
    """The ffmpeg argument list for the whole ladder, and the file each output goes to."""
    input_options = {"f": accepted.demuxer, "protocol_whitelist": "file"}
    input_options["format_whitelist"] = ",".join(mediatools.ALLOWED_CONTAINERS)
    if max_duration:
        input_options["t"] = max_duration  # never decode past the gate's cap, whatever the file claims
    stream = ffmpeg.input(mediatools.local_input(source), **input_options)
    branches = stream["v:0"].split()
    audio = stream["a:0"] if accepted.has_audio else None

    outputs, files = [], {}
    for index, rendition in enumerate(renditions):
        path = out_dir / f"{rendition.name}.mp4"
        video = branches[index].filter("scale", rendition.width, rendition.height).filter("setsar", 1)
        options = {
            "c:v": "libx264",
            "preset": preset,
            "crf": 23,
            "maxrate": f"{rendition.max_video_kbps}k",
            "bufsize": f"{rendition.max_video_kbps * 2}k",
            "pix_fmt": "yuv420p",
            "profile:v": "high",
            "force_key_frames": f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})",
            "movflags": "+faststart",
            "map_metadata": -1,
        }
        if audio is not None:
            options.update({"c:a": "aac", "b:a": f"{AUDIO_KBPS}k", "ac": 2})
            outputs.append(ffmpeg.output(video, audio, str(path), **options))
        else:
            outputs.append(ffmpeg.output(video, str(path), **options))
        files[rendition.name] = path

    top = renditions[0]
    poster = (
        branches[len(renditions)].trim(start=poster_at).setpts("PTS-STARTPTS").filter("scale", top.width, top.height)
    )
    files["poster"] = out_dir / "poster.jpg"
    outputs.append(ffmpeg.output(poster, str(files["poster"]), **{"frames:v": 1, "q:v": 3}))

    command = ffmpeg.merge_outputs(*outputs).global_args("-nostdin", "-hide_banner", "-loglevel", "error")
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
