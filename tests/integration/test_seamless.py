"""The chunked encode is seamless: a clip of several chunks, every frame distinct, played back through HLS.

This runs the same media code the workflow's tasks run (the chunk command, the placing of each
chunk on the source's timeline, the audio encoded once and cut into pieces at the chunks' ends, the
playlists), on local files, and reads the result back the way a player does: through the master
playlist, one rung at a time.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import pytest

import mediatools
from tests.media import frame_numbers, make_numbered_clip
from transcode.adapters.media import SourceInput, audio_command, chunk_command
from transcode.logic import fmp4, hls
from transcode.logic.chunking import Grid, plan_chunks
from transcode.logic.ladder import plan_ladder

pytestmark = pytest.mark.service("transcode")

SECONDS = 13.0  # four chunks: 0-2, 2-6, 6-10 and 10-13 s (one segment first, then 4 s), 2 s segments
RATE = "30000/1001"
FRAME = 1001 / 30000
GRID = Grid(segment_seconds=2, keyframe_seconds=2, chunk_seconds=4, thumbnail_seconds=10)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("seamless")
    source_file = make_numbered_clip(work / "source.mp4", width=1280, height=720, seconds=SECONDS, rate=RATE)
    source = SourceInput(mediatools.local_input(source_file), "mov")
    renditions = plan_ladder(1280, 720)
    pieces: dict[str, list[hls.Piece]] = {r.name: [] for r in renditions}
    starts: dict[str, list[list[int]]] = {r.name: [] for r in renditions}
    for chunk in plan_chunks(SECONDS, GRID):
        out = work / f"chunk{chunk.index}"
        out.mkdir()
        args, files = chunk_command(
            source, chunk, renditions, GRID, 30000, out, poster_at=1.0 if chunk.index == 0 else None, preset="ultrafast"
        )
        mediatools.run("ffmpeg", args, timeout=120)
        for name, path in files.renditions.items():
            placed = fmp4.place(path.read_bytes())
            target = work / name / f"c{chunk.index:05d}.mp4"
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(placed)
            layout = fmp4.layout(placed)
            starts[name].append([f.start for f in layout.fragments])
            pieces[name].append(hls.piece(target.name, layout, GRID.segment_seconds))
    # the audio as the audio task stores it: encoded once to a pipe, cut at the chunks' ends into pieces
    audio_folder = work / "audio"
    audio_folder.mkdir()
    audio_pieces: list[hls.Piece] = []

    def store(index: int, data: bytes) -> None:
        piece = audio_folder / f"a{index:05d}.mp4"
        piece.write_bytes(data)
        audio_pieces.append(hls.piece(piece.name, fmp4.layout(data), GRID.segment_seconds))

    splitter = fmp4.Splitter([c.end_seconds for c in plan_chunks(SECONDS, GRID)], store)
    command = audio_command(source, "pipe:1", video_seconds=389 * FRAME)
    mediatools.stream("ffmpeg", command, timeout=60, sink=splitter.feed)
    assert splitter.close() == len(plan_chunks(SECONDS, GRID))
    (audio_folder / "index.m3u8").write_text(hls.media_playlist(audio_pieces))
    variants = []
    for rendition in renditions:
        (work / rendition.name / "index.m3u8").write_text(hls.media_playlist(pieces[rendition.name]))
        peak, average = hls.bandwidth(pieces[rendition.name])
        codec = fmp4.avc_codec((work / rendition.name / "c00000.mp4").read_bytes())
        variants.append(
            hls.Variant(f"{rendition.name}/index.m3u8", rendition.width, rendition.height, peak, average, codec, 29.97)
        )
    (work / "master.m3u8").write_text(hls.master_playlist(variants, "audio/index.m3u8"))
    return {"work": work, "renditions": [r.name for r in renditions], "starts": starts, "source": source_file}


def _hls(playlist: Path) -> tuple[str, ...]:
    return ("-allowed_extensions", "ALL", "-protocol_whitelist", "file", "-i", str(playlist))


def _probe_frames(playlist: Path, stream: str) -> list[dict]:
    out = subprocess.run(
        [
            *(mediatools.ffprobe(), "-v", "error", *_hls(playlist), "-select_streams", stream),
            *("-show_entries", "frame=pts_time,duration_time", "-of", "json"),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    return json.loads(out)["frames"]


def test_every_rung_has_every_source_frame_once_in_order(package: dict):
    source_frames = frame_numbers("-i", str(package["source"]))
    assert source_frames == list(range(len(source_frames)))  # the clip itself is what we think it is
    assert len(package["starts"]["720p"]) == 4
    for name in package["renditions"]:
        assert frame_numbers(*_hls(package["work"] / name / "index.m3u8")) == source_frames, name


def test_timestamps_increase_by_one_frame_across_chunk_boundaries(package: dict):
    for name in package["renditions"]:
        times = [float(f["pts_time"]) for f in _probe_frames(package["work"] / name / "index.m3u8", "v:0")]
        assert times[0] == pytest.approx(0, abs=1e-6)
        steps = [b - a for a, b in itertools.pairwise(times)]
        assert min(steps) > 0, name
        assert max(steps) == pytest.approx(FRAME, abs=1e-4), name


def test_audio_is_as_long_as_the_video_and_starts_with_it(package: dict):
    video = [float(f["pts_time"]) for f in _probe_frames(package["work"] / "720p" / "index.m3u8", "v:0")]
    audio = _probe_frames(package["work"] / "audio" / "index.m3u8", "a:0")
    audio_start = float(audio[0]["pts_time"])
    audio_end = float(audio[-1]["pts_time"]) + float(audio[-1]["duration_time"])
    assert audio_start == pytest.approx(video[0], abs=FRAME)
    assert audio_end == pytest.approx(video[-1] + FRAME, abs=FRAME)


def test_the_audio_pieces_join_without_a_gap_or_an_overlap(package: dict):
    # the audio's frames (AAC: 1024 samples each) follow one another across the pieces' boundaries
    audio = _probe_frames(package["work"] / "audio" / "index.m3u8", "a:0")
    assert len(list((package["work"] / "audio").glob("a*.mp4"))) == 4
    for before, after in itertools.pairwise(audio):
        end = float(before["pts_time"]) + float(before["duration_time"])
        assert float(after["pts_time"]) == pytest.approx(end, abs=1e-4), (before, after)


def test_keyframes_fall_at_the_same_times_in_every_rung(package: dict):
    first, *others = package["renditions"]
    for name in others:
        assert package["starts"][name] == package["starts"][first]
    # and on the keyframe grid: the first frame at or after each multiple of 2 s
    for chunk_starts in package["starts"][first]:
        for start in chunk_starts:
            seconds = start / 30000
            assert seconds % GRID.keyframe_seconds < FRAME + 1e-6


def test_the_master_playlist_describes_each_rung(package: dict):
    master = (package["work"] / "master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF:") == len(package["renditions"])
    for attribute in ("BANDWIDTH=", "AVERAGE-BANDWIDTH=", "RESOLUTION=1280x720", 'CODECS="avc1.', "FRAME-RATE=29.970"):
        assert attribute in master
    assert '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio"' in master
    # a player reading the master sees video and audio together
    played = frame_numbers(*_hls(package["work"] / "master.m3u8"))
    assert played[:3] == [0, 1, 2] and played == sorted(played)
