"""The workflow's media steps in ffmpeg: a chunk in every rung from one decode, the audio once, downloads, sprites."""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

import mediatools
from contracts.events import ChunkRef
from contracts.media import Probe
from transcode.logic.chunking import Grid, keyframe_times, thumbnail_numbers
from transcode.logic.ladder import Rendition, thumbnail_size
from transcode.logic.picture import AS_IS, Picture
from transcode.logic.ports import ChunkFiles, SourceMissing, SourceRef, SourceSuperseded

AUDIO_KBPS = 128
# How much lower a background encode's CPU priority is (MediaTool.encode_chunk): where encodes share cores (the
# local stack's workers, a laptop), the growing stream's round 0 gets them first; on Lambda each has its own.
BACKGROUND_NICENESS = 10
FRAGMENT_FLAGS = "+frag_keyframe+delay_moov+default_base_moof"
# Every input's timestamps kept (so keyframes, thumbnails and chunk edges fall on the source's own times), shifted
# only so that the file's earliest stream starts at 0: an MPEG-TS clock starting at 93,000 s reads as 0, and a
# picture that starts 1 s after the sound stays 1 s late.
TIMELINE = ("-copyts", "-start_at_zero")
BT709 = {"color_primaries": "bt709", "color_trc": "bt709", "colorspace": "bt709"}
JPEG = {"out_color_matrix": "bt601", "out_range": "full"}  # what every JPEG decoder assumes (JFIF)
# HDR to SDR: to linear light (1.0 = 100 nits), BT.709 primaries, Hable's curve for the highlights, back to BT.709.
# HLG's reference white (75 %) and PQ's (203 nits) come out near 75 % of SDR white, as an SDR master would put it.
TONE_MAP_NITS = 100


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children (the ffmpeg runs, which it waits for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class SourceInput:
    """Where ffmpeg reads the source: a signed URL (ranged reads) or a local file, with the demuxer forced."""

    target: str
    demuxer: str
    headers: str | None = None  # e.g. If-Match, so a rewritten object is refused instead of read

    @classmethod
    def of(cls, source: SourceRef, demuxer: str) -> SourceInput:
        return cls(source.target, demuxer, source.headers)

    @property
    def protocols(self) -> str:
        if self.target.startswith("https:"):
            return "https,tls,tcp"
        if self.target.startswith("http:"):
            return "http,tcp"
        return "file"

    def options(self) -> dict[str, str | float]:
        options: dict[str, str | float] = {
            "f": self.demuxer,
            "protocol_whitelist": self.protocols,
            "format_whitelist": ",".join(mediatools.ALLOWED_CONTAINERS),
        }
        if self.headers:
            options["headers"] = self.headers
        return options


def _prepared(video: ffmpeg.nodes.FilterableStream, picture: Picture, top: Rendition) -> ffmpeg.nodes.FilterableStream:
    """The frames as the source means them, before the ladder's split: progressive, SDR, BT.709."""
    if picture.late_start:
        # tpad puts its frames from 0 and moves the picture after them: moved back first, it keeps its own times
        video = video.setpts(f"PTS-{picture.late_start}/TB").filter(
            "tpad", start_duration=picture.late_start, start_mode="add", color="black"
        )
    if picture.deinterlace:
        video = video.filter("bwdif", mode="send_frame", parity="auto", deint="interlaced")
    if picture.tone_map:
        # resized to the top rung first (in linear light): the float RGB steps then cost what that size costs
        video = (
            video.filter("zscale", w=top.width, h=top.height, t="linear", npl=TONE_MAP_NITS)
            .filter("format", "gbrpf32le")
            .filter("zscale", p="bt709")
            .filter("tonemap", tonemap="hable", desat=0)
            .filter("zscale", t="bt709", m="bt709", r="tv")
            .filter("format", "yuv420p")
        )
    elif picture.to_bt709:
        video = video.filter("zscale", p="bt709", t="bt709", m="bt709", r="tv").filter("format", "yuv420p")
    return video


def chunk_command(
    source: SourceInput,
    chunk: ChunkRef,
    renditions: list[Rendition],
    grid: Grid,
    timescale: int,
    out_dir: Path,
    *,
    poster_at: float | None,
    picture: Picture = AS_IS,
    last: bool = False,
    preset: str = "veryfast",
    threads: int = 0,
    top: Rendition | None = None,
    thumbnails: bool = True,
    progress: bool = False,
) -> tuple[list[str], ChunkFiles]:
    """One ffmpeg process for one chunk: decode its time range once, encode every rung, take its thumbnails.

    The source's timestamps are kept (`TIMELINE`), so the keyframe and thumbnail times are the
    source's own, the same in every chunk and every rung. Each rung becomes a fragmented MP4
    (a fragment per keyframe) whose start `fmp4.place_on_timeline` moves into its fragments.
    The last chunk reads to the end of the file, so no frame after the declared end is lost.
    `top` (default: the first rendition) is the video's best rung, whatever rungs this command encodes: the
    poster and thumbnails are sized from it. With `progress`, ffmpeg writes its progress to stdout.
    """
    top = top or renditions[0]
    duration = chunk.end_seconds - chunk.start_seconds
    limit: dict[str, int] = {"threads": threads} if threads else {}  # the decoder's threads (0: ffmpeg's choice)
    reach: dict[str, float] = {} if last else {"t": duration}
    stream = ffmpeg.input(source.target, ss=chunk.start_seconds, **reach, **source.options(), **limit)
    thumbs = list(thumbnail_numbers(chunk, grid)) if thumbnails else []
    branches = _prepared(stream["v:0"], picture, top).split()
    keyframes = ",".join(f"{t:g}" for t in keyframe_times(chunk, grid))
    outputs = []
    files = ChunkFiles({}, {}, None)
    for index, rendition in enumerate(renditions):
        video = (
            branches[index]
            .filter("scale", rendition.width, rendition.height, out_color_matrix="bt709", out_range="tv")
            .filter("setsar", 1)
        )
        path = out_dir / f"{rendition.name}.mp4"
        files.renditions[rendition.name] = path
        outputs.append(
            ffmpeg.output(
                video,
                str(path),
                **{
                    "fps_mode": "passthrough",  # every source frame once: no frame dropped or repeated at the edges
                    "c:v": "libx264",
                    "preset": preset,
                    "crf": 23,
                    "maxrate": f"{rendition.max_video_kbps}k",
                    "bufsize": f"{rendition.max_video_kbps * 2}k",
                    "pix_fmt": "yuv420p",
                    "profile:v": "high",
                    **BT709,  # what the frames are now, whatever the source said
                    "x264-params": "scenecut=0:open-gop=0",  # keyframes only where forced: the same in every rung
                    **({"bf": 0} if picture.variable_rate else {}),
                    "forced-idr": 1,
                    "force_key_frames": keyframes,
                    "threads": threads,
                    "map_metadata": -1,
                    "f": "mp4",
                    "movflags": FRAGMENT_FLAGS,
                    "movie_timescale": timescale,
                    "video_track_timescale": timescale,
                },
            )
        )
    branch = len(renditions)
    if thumbs:
        width, height = thumbnail_size(top.width, top.height)
        first = thumbs[0] * grid.thumbnail_seconds
        selected = (
            branches[branch]
            .filter("select", f"gte(t,{first}+selected_n*{grid.thumbnail_seconds})")
            .filter("scale", width, height, **JPEG)
        )
        pattern = out_dir / "thumb-%05d.jpg"
        outputs.append(
            ffmpeg.output(
                selected,
                str(pattern),
                **{"fps_mode": "passthrough", "q:v": 5, "start_number": thumbs[0], "f": "image2"},
            )
        )
        files.thumbnails.update({n: out_dir / f"thumb-{n:05d}.jpg" for n in thumbs})
        branch += 1
    if poster_at is not None:
        poster = (
            branches[branch]
            .trim(start=poster_at, end=poster_at + 1)
            .setpts("PTS-STARTPTS")
            .filter("scale", top.width, top.height, **JPEG)
        )
        path = out_dir / "poster.jpg"
        outputs.append(ffmpeg.output(poster, str(path), **{"frames:v": 1, "q:v": 3}))
        files = ChunkFiles(files.renditions, files.thumbnails, path)
    filter_threads = ("-filter_complex_threads", str(threads)) if threads else ()
    report = ("-progress", "pipe:1", "-stats_period", "1") if progress else ()
    command = ffmpeg.merge_outputs(*outputs).global_args(
        "-nostdin", "-hide_banner", "-loglevel", "error", *TIMELINE, *filter_threads, *report
    )
    return command.compile(cmd=mediatools.ffmpeg(), overwrite_output=True), files


def audio_command(source: SourceInput, out: Path | str, *, video_seconds: float) -> list[str]:
    """The whole source's audio encoded once (AAC priming only at the very start), as fragmented MP4 (to a file,
    or to `pipe:1`: each fragment is written out as soon as it is complete).

    Cut or padded with silence to the video's length: a player then reaches the end of both together.
    """
    stream = ffmpeg.input(source.target, t=video_seconds + 1, **source.options())
    # from 0 to where the picture ends on the timeline: a late sound starts after silence, a short one is padded
    audio = (
        stream["a:0"]
        .filter("aresample", **{"async": 1, "first_pts": 0})  # from 0: silence before a late sound, and in gaps
        .filter("apad")
        .filter("atrim", end=video_seconds)
    )
    output = ffmpeg.output(
        audio,
        str(out),
        **{
            "c:a": "aac",
            # ffmpeg's default two-loop search, whatever the length: one process encodes the whole track, and for
            # the longest allowed source it must finish well inside the function's timeout (tests/unit/
            # test_lambda_limits.py, from `make bench-limits`). With ffmpeg 9 the "fast" coder is no longer the
            # safer choice: quicker on noise-like sound, it costs twice the two-loop search's on a tone.
            "aac_coder": "twoloop",
            "b:a": f"{AUDIO_KBPS}k",
            "ac": 2,
            "map_metadata": -1,
            "f": "mp4",
            "movflags": "+delay_moov+default_base_moof",
            "frag_duration": 2_000_000,  # microseconds: fragments of 2 s, grouped into segments like the video
            "flush_packets": 1,
        },
    )
    command = output.global_args("-nostdin", "-hide_banner", "-loglevel", "error", *TIMELINE)
    return list(command.compile(cmd=mediatools.ffmpeg(), overwrite_output=True))


def join_command(video_track: Path, audio_track: Path | None, out: Path) -> list[str]:
    """Our own fragmented MP4s (a rung's whole track, the audio) joined into one MP4 with its index first.

    Every timestamp is kept (`TIMELINE`): a picture or a sound that starts late stays late (the muxer writes an
    edit list for it), and the audio's edit list, which skips the AAC encoder's priming, is obeyed and written
    again, so the download plays in sync like the stream.
    """
    own = {"f": "mov", "protocol_whitelist": "file"}
    streams = [ffmpeg.input(str(video_track), **own)["v:0"]]
    if audio_track is not None:
        streams.append(ffmpeg.input(str(audio_track), **own)["a:0"])
    output = ffmpeg.output(*streams, str(out), **{"c": "copy", "movflags": "+faststart", "f": "mp4"})
    command = output.global_args("-nostdin", "-hide_banner", "-loglevel", "error", *TIMELINE)
    return list(command.compile(cmd=mediatools.ffmpeg(), overwrite_output=True))


def sprite_command(images: list[Path], columns: int, out: Path) -> list[str]:
    """Thumbnails (our own JPEGs, listed in a concat file next to them) tiled into one sprite image."""
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{image.name}'\n" for image in images))
    rows = max(1, -(-len(images) // columns))
    stream = ffmpeg.input(str(listing), f="concat", safe=0, protocol_whitelist="file")
    tiled = stream.filter("tile", f"{columns}x{rows}")
    output = ffmpeg.output(tiled, str(out), **{"frames:v": 1, "q:v": 5})
    command = output.global_args("-nostdin", "-hide_banner", "-loglevel", "error")
    return list(command.compile(cmd=mediatools.ffmpeg(), overwrite_output=True))


class ProgressReader:
    """ffmpeg's `-progress` lines (a block per second) to `report(frames written, out_time seconds)`."""

    def __init__(self, report: Callable[[int, float], None]) -> None:
        self.report = report
        self._partial = b""
        self._frames, self._seconds = 0, 0.0

    def feed(self, data: bytes) -> None:
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            name, _, value = line.strip().partition(b"=")
            if name == b"frame" and value.isdigit():
                self._frames = int(value)
            elif name == b"out_time_us" and value.isdigit():
                self._seconds = int(value) / 1e6
            elif name == b"progress":  # the block's last line
                self.report(self._frames, self._seconds)


def source_error(exc: mediatools.MediaToolError, source: SourceRef) -> Exception:
    """What S3's answer to ffmpeg's read of the source means for the workflow, in ffmpeg's own words for it.

    Only these exact phrases: a media error's text can hold any number (an offset, a size). ffmpeg names
    no 412: a read pinned to an ETag (If-Match) that S3 refuses with a 4XX is a rewrite of the key.
    """
    if "Server returned 404 Not Found" in exc.detail:
        return SourceMissing("the uploaded object does not exist")
    if source.headers and "Server returned 4XX Client Error" in exc.detail:
        return SourceSuperseded("the key was written again since this event")
    return exc


@dataclass
class FfmpegMedia:
    preset: str = "veryfast"
    threads: int = 0  # 0: ffmpeg's choice (every core)
    probe_timeout: float = 60
    encode_timeout: float = 840

    def probe(self, source: SourceRef) -> Probe:
        protocols = SourceInput(source.target, "mov").protocols.split(",")
        try:
            return mediatools.probe(
                source.target, protocols=protocols, headers=source.headers, timeout=self.probe_timeout
            )
        except mediatools.MediaToolError as exc:
            raise source_error(exc, source) from None

    def _run(self, args: list[str], source: SourceRef | None, *, redact: list[str], niceness: int = 0) -> None:
        try:
            mediatools.run("ffmpeg", args, timeout=self.encode_timeout, redact=redact, niceness=niceness)
        except mediatools.MediaToolError as exc:
            raise (source_error(exc, source) if source else exc) from None

    def encode_chunk(
        self,
        source: SourceRef,
        demuxer: str,
        chunk: ChunkRef,
        renditions: list[Rendition],
        grid: Grid,
        timescale: int,
        out_dir: Path,
        *,
        poster_at: float | None,
        picture: Picture = AS_IS,
        last: bool = False,
        top: Rendition | None = None,
        thumbnails: bool = True,
        progress: Callable[[int, float], None] | None = None,
        background: bool = False,
    ) -> ChunkFiles:
        niceness = BACKGROUND_NICENESS if background else 0
        args, files = chunk_command(
            SourceInput.of(source, demuxer),
            chunk,
            renditions,
            grid,
            timescale,
            out_dir,
            poster_at=poster_at,
            picture=picture,
            last=last,
            preset=self.preset,
            threads=self.threads,
            top=top,
            thumbnails=thumbnails,
            progress=progress is not None,
        )
        redact = [source.target, str(out_dir)]
        if progress is None:
            self._run(args, source, redact=redact, niceness=niceness)
        else:
            self._stream(args, source, ProgressReader(progress).feed, redact=redact, niceness=niceness)
        missing = [name for name, path in files.renditions.items() if not path.is_file() or not path.stat().st_size]
        if missing:
            raise mediatools.MediaToolError("ffmpeg", f"produced no output for {', '.join(missing)}")
        return files

    def encode_audio(
        self, source: SourceRef, demuxer: str, sink: Callable[[bytes], object], *, video_seconds: float
    ) -> None:
        args = audio_command(SourceInput.of(source, demuxer), "pipe:1", video_seconds=video_seconds)
        self._stream(args, source, sink, redact=[source.target])

    def _stream(
        self,
        args: list[str],
        source: SourceRef,
        sink: Callable[[bytes], object],
        *,
        redact: list[str],
        niceness: int = 0,
    ) -> None:
        try:
            mediatools.stream("ffmpeg", args, timeout=self.encode_timeout, sink=sink, redact=redact, niceness=niceness)
        except mediatools.MediaToolError as exc:
            raise source_error(exc, source) from None

    def join_download(self, video_track: Path, audio_track: Path | None, out: Path) -> None:
        self._run(join_command(video_track, audio_track, out), None, redact=[str(out.parent)])

    def sprite(self, images: list[Path], columns: int, out: Path) -> None:
        self._run(sprite_command(images, columns, out), None, redact=[str(out.parent)])

    def extract_subtitles(self, source: SourceRef, demuxer: str, streams: list[int], out_dir: Path) -> dict[int, Path]:
        args, files = subtitle_command(SourceInput.of(source, demuxer), streams, out_dir)
        self._run(args, source, redact=[source.target, str(out_dir)])
        missing = [str(index) for index, path in files.items() if not path.is_file()]
        if missing:
            raise mediatools.MediaToolError("ffmpeg", f"produced no subtitles for stream {', '.join(missing)}")
        return files


def subtitle_command(source: SourceInput, streams: list[int], out_dir: Path) -> tuple[list[str], dict[int, Path]]:
    """The source's text subtitle streams (by stream index), each as a WebVTT file, in one read of the source.

    The input is opened like every other (demuxer forced, protocols and formats limited) and its timestamps
    treated as the chunks treat theirs (`TIMELINE`): a cue lands at the time of the frames it was written for.
    """
    stream = ffmpeg.input(source.target, **source.options())
    files = {index: out_dir / f"s{index:03d}.vtt" for index in streams}
    outputs = [
        ffmpeg.output(stream[str(index)], str(path), **{"c:s": "webvtt", "map_metadata": -1, "f": "webvtt"})
        for index, path in files.items()
    ]
    command = ffmpeg.merge_outputs(*outputs).global_args("-nostdin", "-hide_banner", "-loglevel", "error", *TIMELINE)
    return list(command.compile(cmd=mediatools.ffmpeg(), overwrite_output=True)), files
