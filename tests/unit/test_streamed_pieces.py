"""What the growing stream is made of: chunks that ramp up, the audio cut into pieces as ffmpeg writes it, and
ffmpeg's progress read as it runs."""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

import pytest

import mediatools
from transcode.adapters.media import ProgressReader, SourceInput, audio_command
from transcode.logic import fmp4, hls
from transcode.logic.chunking import Grid, chunk_lengths, plan_chunks

pytestmark = pytest.mark.service("transcode")


# --- chunks ---------------------------------------------------------------------------------------------------


def test_chunks_start_at_one_segment_and_double_up_to_the_chunk_length() -> None:
    assert list(itertools.islice(chunk_lengths(Grid()), 7)) == [6, 12, 24, 48, 60, 60, 60]
    assert list(itertools.islice(chunk_lengths(Grid(6, 2, 6, 10)), 3)) == [6, 6, 6]  # (the test stacks' grid)


@pytest.mark.parametrize("duration", [0.5, 6, 6.1, 17.9, 90, 91, 3600, 4 * 3600])
def test_the_chunks_cover_the_video_on_the_segment_grid(duration: float) -> None:
    grid = Grid()
    chunks = plan_chunks(duration, grid)
    assert chunks[0].start_seconds == 0 and chunks[-1].end_seconds == pytest.approx(duration)
    assert all(a.end_seconds == b.start_seconds for a, b in itertools.pairwise(chunks))
    assert all(c.end_seconds % grid.segment_seconds == 0 for c in chunks[:-1])
    assert max(c.end_seconds - c.start_seconds for c in chunks) <= grid.chunk_seconds
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_without_the_ramp_every_chunk_is_of_the_chunk_length() -> None:
    assert [(c.start_seconds, c.end_seconds) for c in plan_chunks(130, Grid(), ramp=False)] == [
        (0, 60),
        (60, 120),
        (120, 130),
    ]


# --- the audio in pieces -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def audio_track(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """20 s of AAC as the audio task's ffmpeg writes it to its pipe (a tone, as the service encodes any sound)."""
    folder = tmp_path_factory.mktemp("audio")
    source = folder / "tone.m4a"
    mediatools.run(
        "ffmpeg",
        [mediatools.ffmpeg(), "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=d=20", "-c:a", "aac", str(source)],
        timeout=60,
    )
    got: list[bytes] = []
    args = audio_command(SourceInput(mediatools.local_input(source), "mov"), "pipe:1", video_seconds=20)
    mediatools.stream("ffmpeg", args, timeout=60, sink=got.append)
    return b"".join(got)


def _split(track: bytes, ends: list[float], slice_bytes: int) -> dict[int, bytes]:
    pieces: dict[int, bytes] = {}
    splitter = fmp4.Splitter(ends, pieces.__setitem__)
    for at in range(0, len(track), slice_bytes):
        splitter.feed(track[at : at + slice_bytes])
    assert splitter.close() == len(pieces)
    return pieces


@pytest.mark.parametrize("slice_bytes", [1, 1000, 1 << 20], ids=["byte by byte", "1000 bytes", "all at once"])
def test_the_audio_is_cut_at_the_chunks_ends_into_pieces_that_join_as_the_one_track(
    audio_track: bytes, slice_bytes: int
) -> None:
    whole = fmp4.layout(audio_track)
    pieces = _split(audio_track, [6, 18, 20], slice_bytes)
    assert sorted(pieces) == [0, 1, 2]
    layouts = {k: fmp4.layout(piece) for k, piece in pieces.items()}
    # each piece is the track's init segment and its own fragments, in time order
    for piece in pieces.values():
        assert piece[: whole.init_size] == audio_track[: whole.init_size]
    starts = [[f.start / whole.timescale for f in layouts[k].fragments] for k in (0, 1, 2)]
    assert max(starts[0]) < 6 <= min(starts[1]) and max(starts[1]) < 18 <= min(starts[2])
    # and the fragments of all pieces are the track's, byte for byte (one encode: no seam, no second priming)
    fragments = b"".join(piece[layouts[k].init_size :] for k, piece in sorted(pieces.items()))
    last = whole.fragments[-1]
    assert fragments == audio_track[whole.init_size : last.offset + last.size]  # (the trailer's mfra is left out)
    durations = [hls.duration([hls.piece("a.mp4", layouts[k], 6)]) for k in (0, 1, 2)]
    assert sum(durations) == pytest.approx(hls.duration([hls.piece("a.mp4", whole, 6)]))


def test_a_stream_cut_inside_a_box_or_without_its_init_segment_is_refused(audio_track: bytes) -> None:
    truncated = fmp4.Splitter([20], lambda index, data: None)
    truncated.feed(audio_track[:-10])
    with pytest.raises(fmp4.Fmp4Error, match="inside a box"):
        truncated.close()
    init_size = fmp4.layout(audio_track).init_size
    headless = fmp4.Splitter([20], lambda index, data: None)
    with pytest.raises(fmp4.Fmp4Error, match="before the init segment"):
        headless.feed(audio_track[init_size:])


# --- running ffmpeg ------------------------------------------------------------------------------------------------


def test_progress_is_read_from_ffmpeg_lines_however_they_are_cut() -> None:
    reports: list[tuple[int, float]] = []
    reader = ProgressReader(lambda frames, seconds: reports.append((frames, seconds)))
    text = b"frame=0\nout_time_us=N/A\nprogress=continue\nframe=87\nout_time_us=2866667\nprogress=continue\n"
    text += b"frame=360\nout_time_us=9100000\nprogress=end\n"
    for at in range(0, len(text), 7):
        reader.feed(text[at : at + 7])
    assert reports == [(0, 0.0), (87, 2.866667), (360, 9.1)]


def _endless_tone() -> list[str]:
    return [mediatools.ffmpeg(), "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "sine", "-f", "wav", "pipe:1"]


def test_a_sink_that_fails_stops_ffmpeg_and_its_error_goes_on(tmp_path: Path) -> None:
    class Full(Exception):
        pass

    def sink(data: bytes) -> None:
        raise Full

    started = time.monotonic()
    with pytest.raises(Full):
        mediatools.stream("ffmpeg", _endless_tone(), timeout=30, sink=sink)
    assert time.monotonic() - started < 10


def test_a_stream_that_does_not_end_in_time_is_stopped() -> None:
    with pytest.raises(mediatools.MediaToolError) as stopped:
        mediatools.stream("ffmpeg", _endless_tone(), timeout=1.5, sink=lambda data: None)
    assert stopped.value.timed_out and "did not finish within 2s" in stopped.value.detail


@pytest.mark.parametrize("tool", ["run", "stream"])
def test_a_background_tool_runs_at_a_lower_cpu_priority(tool: str) -> None:
    # (a tool is any program: here Python printing its own niceness)
    args = [sys.executable, "-c", "import os; print(os.nice(0))"]
    mine = os.nice(0)
    if tool == "run":
        printed = mediatools.run("python", args, timeout=30, niceness=7)
    else:
        got: list[bytes] = []
        mediatools.stream("python", args, timeout=30, sink=got.append, niceness=7)
        printed = b"".join(got)
    assert int(printed) == min(mine + 7, 19)
    assert int(mediatools.run("python", args, timeout=30)) == mine
