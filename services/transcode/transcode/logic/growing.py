"""The growing stream: the start of a video plays seconds after the upload, while the rest is encoded.

Round 0 of the chunk Map encodes the lowest rung over the whole video, first chunk first (the first chunk is
one segment long: chunking.chunk_lengths), and the audio task stores the audio in pieces of the same time
ranges as it encodes it. After each of them is stored, `publish` writes the stream over the contiguous
prefix that both have: the rung's and the audio's media playlists as EVENT playlists (RFC 8216: segments
are only ever added at the end) and a master playlist naming only round 0's rungs, at the keys the finished
stream keeps. So a player given the master while the video is encoded plays the start, sees the playlists
grow, and, when the last chunk lands and `assembly` writes the same playlists as VOD (with their end), plays
on to the end without a new URL: every segment it fetched is still where it was.

A writer reads only the records that are new since the last writer (`pieces/growing.json` keeps the ones
read, by ETag), so a chunk extends the stream with a few requests, however long the prefix already is.

Two writers (a chunk and the audio, or two chunks) may publish at once: each writes, then lists again and
writes again while the prefix it listed grew; so the last write comes from a listing made after every
stored piece, and a playlist never stays shorter than what is stored. The finished stream's playlists are
kept in `final.json` before they are written: a writer that comes after them (a task that outlived its
timeout) puts them back instead of its EVENT playlists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from transcode.logic import hls
from transcode.logic.workflow import Plan, Rung, WorkflowDeps, piece_of

_CHUNK_RECORD = re.compile(r"c(\d{5})\.json")
_AUDIO_RECORD = re.compile(r"a(\d{5})\.json")


def _contiguous(keys: Iterable[str], pattern: re.Pattern[str]) -> int:
    """How many records 0, 1, 2, ... are among `keys`, without a gap."""
    found = {int(m.group(1)) for key in keys if (m := pattern.fullmatch(key.rsplit("/", 1)[-1]))}
    count = 0
    while count in found:
        count += 1
    return count


@dataclass(frozen=True)
class Stored:
    """One listing of round 0's records and the audio's: their keys with their ETags."""

    chunks: dict[str, str]
    audio: dict[str, str]

    @classmethod
    def listed(cls, the_plan: Plan, deps: WorkflowDeps) -> Stored:
        storage, bucket = deps.storage, deps.config.output_bucket
        audio = storage.list_etags(bucket, the_plan.audio_records_prefix) if the_plan.has_audio else {}
        return cls(storage.list_etags(bucket, the_plan.records_prefix(0)), audio)

    def count(self, the_plan: Plan) -> int:
        """How many chunks from the start have round 0 and the audio stored."""
        count = _contiguous(self.chunks, _CHUNK_RECORD)
        return min(count, _contiguous(self.audio, _AUDIO_RECORD)) if the_plan.has_audio else count


class _Records:
    """The records a writer needs, read through `pieces/growing.json`: the records earlier writers read, each
    with its ETag. A record is read from S3 only when it is new or its ETag changed (written again), so
    extending the stream by a chunk reads that chunk's records, not the whole prefix's."""

    def __init__(self, the_plan: Plan, deps: WorkflowDeps, stored: Stored) -> None:
        self._storage, self._bucket, self._key = deps.storage, deps.config.output_bucket, the_plan.growing_key
        self._etags = stored.chunks | stored.audio
        self._known: dict[str, Any] = (self._storage.read_json(self._bucket, self._key) or {}).get("records", {})
        self._read = False

    def __getitem__(self, key: str) -> dict[str, Any]:
        etag = self._etags.get(key)
        known = self._known.get(key)
        if known is None or known.get("etag") != etag:
            known = {"etag": etag, "record": self._storage.read_json(self._bucket, key) or {}}
            self._known[key], self._read = known, True
        record: dict[str, Any] = known["record"]
        return record

    def keep(self) -> None:
        """Store what was read for the next writer (only when something was)."""
        if self._read:
            self._storage.write_json(self._bucket, self._key, {"records": self._known})


def variant(the_plan: Plan, rung: Rung, records: Sequence[dict[str, Any]], audio: Sequence[hls.Piece]) -> hls.Variant:
    """A rung as a master playlist names it, from its chunks' records (and the audio beside it)."""
    pieces = [piece_of(r) for r in records]
    peak, average = hls.bandwidth(pieces)
    audio_peak, audio_average = hls.bandwidth(audio) if audio else (0, 0)
    codecs = records[0]["codec"] + (f",{hls.AUDIO_CODEC}" if audio else "")
    return hls.Variant(
        f"{rung.name}/index.m3u8",
        rung.width,
        rung.height,
        peak + audio_peak,
        average + audio_average,
        codecs,
        max_frame_rate(records) or the_plan.frame_rate,
    )


def max_frame_rate(rung_records: Sequence[dict[str, Any]]) -> float | None:
    """The highest frame rate any chunk of a rung reached (HLS's FRAME-RATE); None for chunks stored before
    it was recorded."""
    rates = [rate for r in rung_records if isinstance(rate := r.get("max_frame_rate"), int | float) and rate > 0]
    return float(max(rates)) if rates and len(rates) == len(rung_records) else None


def _write(the_plan: Plan, stored: Stored, deps: WorkflowDeps) -> float:
    """The growing stream's playlists over the chunks stored from the start; the seconds they play."""
    storage, bucket = deps.storage, deps.config.output_bucket
    count, known = stored.count(the_plan), _Records(the_plan, deps, stored)
    records = [known[the_plan.piece_key(index)] for index in range(count)]
    audio: list[hls.Piece] = []
    if the_plan.has_audio:
        audio = [piece_of(known[the_plan.audio_piece_key(index)]) for index in range(count)]
        storage.put_text(
            bucket, the_plan.playlist_key("audio"), hls.media_playlist(audio, ended=False), hls.CONTENT_TYPE
        )
    variants = []
    seconds = None
    for rung in the_plan.early_rungs:
        rung_records = [r["rungs"][rung.name] for r in records]
        pieces = [piece_of(r) for r in rung_records]
        storage.put_text(
            bucket, the_plan.playlist_key(rung.name), hls.media_playlist(pieces, ended=False), hls.CONTENT_TYPE
        )
        variants.append(variant(the_plan, rung, rung_records, audio))
        seconds = hls.duration(pieces) if seconds is None else min(seconds, hls.duration(pieces))
    # last: the master names playlists that exist
    master = hls.master_playlist(variants, "audio/index.m3u8" if audio else None)
    storage.put_text(bucket, the_plan.master_key, master, hls.CONTENT_TYPE)
    known.keep()
    played = seconds or 0.0
    return round(min(played, hls.duration(audio)) if audio else played, 3)


def restore_final(final: dict[str, Any], deps: WorkflowDeps) -> None:
    """Write the finished stream's playlists (as `assembly` kept them in final.json)."""
    for key, text in final.get("playlists", {}).items():
        deps.storage.put_text(deps.config.output_bucket, key, text, hls.CONTENT_TYPE)


def publish(the_plan: Plan, deps: WorkflowDeps) -> float | None:
    """Write the growing stream over what is stored now; the seconds it plays (None: nothing plays yet, or the
    stream is finished)."""
    storage, bucket = deps.storage, deps.config.output_bucket
    written, seconds = 0, None
    while True:
        final = storage.read_json(bucket, the_plan.final_key)
        if final is not None:
            restore_final(final, deps)
            return None
        stored = Stored.listed(the_plan, deps)
        count = stored.count(the_plan)
        if count <= written:  # nothing stored since the last write (listed after it)
            return seconds
        seconds, written = _write(the_plan, stored, deps), count
