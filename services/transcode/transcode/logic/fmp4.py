"""Fragmented MP4 (CMAF) chunks: read where their pieces are, and put them on the source's timeline.

Pure: bytes in, bytes out. Each chunk of a rendition is encoded on its own, with the
source's timestamps kept (`-copyts`). The MP4 muxer still starts every file's decode
timeline at 0 and records the chunk's real start as an empty edit in the init segment's
edit list. `place_on_timeline` moves that start into every fragment's decode time
(`tfdt`), so the fragments of all chunks follow one another under one init segment
(`init_segment` of the first chunk) exactly as if one encoder had written the whole
rendition: no frame moves, no gap or overlap at a chunk boundary.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

_CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "moof", "traf", "edts", "mvex", "dinf"}
_TRUN_FIELDS = ((0x100, "duration"), (0x200, "size"), (0x400, "flags"), (0x800, "cts"))

Buffer = bytes | bytearray


class Fmp4Error(ValueError):
    """The file is not the single-track fragmented MP4 the encoder was asked for."""


@dataclass(frozen=True)
class Box:
    type: str
    offset: int
    size: int
    header: int

    @property
    def body(self) -> int:
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size


def boxes(data: Buffer, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """The boxes one after another between start and end (one level)."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise Fmp4Error(f"box {kind!r} at {offset} runs past its parent")
        yield Box(kind.decode("latin-1"), offset, size, header)
        offset += size


def find(data: Buffer, parent: Box | None, *path: str) -> list[Box]:
    """Every box at that path below `parent` (None: the top level)."""
    found: list[Box | None] = [parent]
    for kind in path:
        found = [
            box
            for outer in found
            for box in (boxes(data) if outer is None else boxes(data, outer.body, outer.end))
            if box.type == kind
        ]
    return [box for box in found if box is not None]


def _one(data: Buffer, parent: Box | None, *path: str) -> Box:
    found = find(data, parent, *path)
    if len(found) != 1:
        raise Fmp4Error(f"expected one {'/'.join(path)}, found {len(found)}")
    return found[0]


def _version_flags(data: Buffer, box: Box) -> tuple[int, int]:
    (word,) = struct.unpack_from(">I", data, box.body)
    return word >> 24, word & 0xFFFFFF


def _timescale(data: Buffer, box: Box) -> int:
    """The timescale of an mvhd or mdhd box."""
    version, _ = _version_flags(data, box)
    return int(struct.unpack_from(">I", data, box.body + (20 if version == 1 else 12))[0])


@dataclass(frozen=True)
class Fragment:
    offset: int  # where its moof starts in the file
    size: int  # moof and mdat
    start: int  # decode time of its first sample, in the track's timescale
    duration: int
    samples: int
    # its first sample's composition offset (presentation minus decode time: B-frames); None when the track has
    # none (audio), whose edit list's media time is then its priming, not a reordering delay
    first_offset: int | None = None


@dataclass(frozen=True)
class Layout:
    """Where the init segment and each fragment of one file are, and their times."""

    init_size: int  # ftyp and moov, from offset 0
    timescale: int
    fragments: tuple[Fragment, ...]
    sample_entry: str  # digest of the stsd box: the chunks of one rendition must agree on it
    lead: int  # the empty edit before the media (the chunk's start), in the track's timescale
    delay: int  # media time of the first edit (encoder delay, AAC priming), in the track's timescale

    @property
    def start(self) -> int:
        return self.fragments[0].start

    def presented_at(self, fragment: Fragment) -> int:
        """When the fragment's first sample (its keyframe) is shown: what the segment grid is about. Its decode
        time is earlier by the B-frame delay, which varies with the frame durations of a variable-rate source."""
        if fragment.first_offset is None:
            return fragment.start
        return fragment.start + fragment.first_offset - self.delay

    def max_frame_rate(self) -> float:
        """The highest frame rate over any fragment (a GOP): HLS's FRAME-RATE, which is a maximum, not a mean."""
        rates = [f.samples * self.timescale / f.duration for f in self.fragments if f.duration > 0]
        return round(max(rates, default=0.0), 3)

    @property
    def end(self) -> int:
        last = self.fragments[-1]
        return last.start + last.duration


def _edit_list(data: Buffer, trak: Box, movie_scale: int, track_scale: int) -> tuple[int, int]:
    """(empty time before the media, media time of the media edit), both in the track's timescale."""
    lists = find(data, trak, "edts", "elst")
    if not lists:
        return 0, 0
    elst = lists[0]
    version, _ = _version_flags(data, elst)
    (count,) = struct.unpack_from(">I", data, elst.body + 4)
    entry = ">QqI" if version == 1 else ">IiI"  # duration, media time, rate
    lead, media = 0, None
    for index in range(count):
        duration, media_time, _ = struct.unpack_from(entry, data, elst.body + 8 + index * struct.calcsize(entry))
        if media_time == -1 and media is None:
            lead += duration
        elif media is None:
            media = media_time
        elif media_time != -1:
            raise Fmp4Error("the edit list has more than one media edit")
    if lead * track_scale % movie_scale:
        raise Fmp4Error("the edit list's start is not a whole number of the track's ticks")
    return lead * track_scale // movie_scale, media or 0


def _default_duration(data: Buffer, moov: Box, tfhd: Box) -> int:
    _, flags = _version_flags(data, tfhd)
    if flags & 0x08:
        at = tfhd.body + 8 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
        return int(struct.unpack_from(">I", data, at)[0])
    trex = find(data, moov, "mvex", "trex")
    return int(struct.unpack_from(">I", data, trex[0].body + 12)[0]) if trex else 0


def _run_duration(data: Buffer, trun: Box, default: int) -> tuple[int, int, int | None]:
    """(total duration, sample count, the first sample's composition offset) of one track run."""
    version, flags = _version_flags(data, trun)
    (count,) = struct.unpack_from(">I", data, trun.body + 4)
    fields = [name for bit, name in _TRUN_FIELDS if flags & bit]
    first = trun.body + 8 + (4 if flags & 0x001 else 0) + (4 if flags & 0x004 else 0)
    stride = 4 * len(fields)
    offset = None
    if "cts" in fields and count:  # signed in version 1, unsigned in version 0
        offset = struct.unpack_from(">i" if version else ">I", data, first + 4 * fields.index("cts"))[0]
    if "duration" not in fields:
        return default * count, count, offset
    return sum(struct.unpack_from(">I", data, first + i * stride)[0] for i in range(count)), count, offset


def layout(data: Buffer) -> Layout:
    """Read a single-track fragmented MP4: its init segment, timescale, edit list and fragments."""
    moov = _one(data, None, "moov")
    trak = _one(data, moov, "trak")
    movie_scale = _timescale(data, _one(data, moov, "mvhd"))
    track_scale = _timescale(data, _one(data, trak, "mdia", "mdhd"))
    lead, delay = _edit_list(data, trak, movie_scale, track_scale)
    stsd = _one(data, trak, "mdia", "minf", "stbl", "stsd")
    top = list(boxes(data))
    fragments = []
    for index, moof in enumerate(top):
        if moof.type != "moof":
            continue
        mdat = top[index + 1] if index + 1 < len(top) else None
        if mdat is None or mdat.type != "mdat":
            raise Fmp4Error(f"the fragment at {moof.offset} has no mdat after its moof")
        traf = _one(data, moof, "traf")
        tfdt = _one(data, traf, "tfdt")
        version, _ = _version_flags(data, tfdt)
        (decode_time,) = struct.unpack_from(">Q" if version == 1 else ">I", data, tfdt.body + 4)
        default = _default_duration(data, moov, _one(data, traf, "tfhd"))
        runs = [_run_duration(data, trun, default) for trun in find(data, traf, "trun")]
        duration, samples = sum(d for d, _, _ in runs), sum(n for _, n, _ in runs)
        first_offset = runs[0][2] if runs else None
        fragments.append(
            Fragment(moof.offset, mdat.end - moof.offset, int(decode_time), duration, samples, first_offset)
        )
    if not fragments:
        raise Fmp4Error("the file has no fragments")
    return Layout(
        init_size=moov.end,
        timescale=track_scale,
        fragments=tuple(fragments),
        sample_entry=hashlib.sha256(bytes(data[stsd.offset : stsd.end])).hexdigest(),
        lead=lead,
        delay=delay,
    )


def place(data: Buffer) -> bytearray:
    """The chunk on the source's timeline, with an init segment that needs no edit for its start."""
    out = place_on_timeline(data)
    out[: layout(out).init_size] = init_segment(out)
    return out


def place_on_timeline(data: Buffer) -> bytearray:
    """The file with its start (the empty edit) moved into every fragment's decode time."""
    out = bytearray(data)
    lead = layout(out).lead
    for moof in find(out, None, "moof"):
        tfdt = _one(out, _one(out, moof, "traf"), "tfdt")
        version, _ = _version_flags(out, tfdt)
        fmt = ">Q" if version == 1 else ">I"
        (decode_time,) = struct.unpack_from(fmt, out, tfdt.body + 4)
        decode_time += lead
        if version == 0 and decode_time >= 2**32:
            raise Fmp4Error(f"decode time {decode_time} does not fit the fragment's 32-bit tfdt")
        struct.pack_into(fmt, out, tfdt.body + 4, decode_time)
    return out


def init_segment(data: Buffer) -> bytes:
    """ftyp and moov of a placed file, its edit list reduced to the media edit: the start is in the fragments now.

    Sizes do not change: the empty edits' bytes become a `free` box inside `edts`.
    """
    out = bytearray(data[: layout(data).init_size])
    for elst in find(out, _one(out, None, "moov"), "trak", "edts", "elst"):
        version, flags = _version_flags(out, elst)
        (count,) = struct.unpack_from(">I", out, elst.body + 4)
        entry = ">QqI" if version == 1 else ">IiI"  # duration, media time, rate
        width = struct.calcsize(entry)
        entries = [out[elst.body + 8 + i * width : elst.body + 8 + (i + 1) * width] for i in range(count)]
        kept = [e for e in entries if struct.unpack(entry, e)[1] != -1]
        spare = (count - len(kept)) * width
        if not spare:
            continue
        body = struct.pack(">II", (version << 24) | flags, len(kept)) + b"".join(kept)
        out[elst.offset : elst.end] = (
            struct.pack(">I4s", 8 + len(body), b"elst") + body + struct.pack(">I4s", spare, b"free") + bytes(spare - 8)
        )
    return bytes(out)


def avc_codec(data: Buffer) -> str:
    """The RFC 6381 codec string of an H.264 track (`avc1.64001f`), from its avcC box."""
    stsd = _one(data, _one(data, None, "moov"), "trak", "mdia", "minf", "stbl", "stsd")
    entry = next(boxes(data, stsd.body + 8, stsd.end))
    if entry.type not in ("avc1", "avc3"):
        raise Fmp4Error(f"not an H.264 track: {entry.type}")
    # A visual sample entry has 78 bytes of fields before its child boxes.
    avcc = next((b for b in boxes(data, entry.body + 78, entry.end) if b.type == "avcC"), None)
    if avcc is None:
        raise Fmp4Error("the H.264 track has no avcC box")
    profile, constraints, level = struct.unpack_from(">BBB", data, avcc.body + 1)
    return f"{entry.type}.{profile:02x}{constraints:02x}{level:02x}"


class Splitter:
    """A single-track fragmented MP4 read as it is written (ffmpeg to a pipe), cut into pieces at given times.

    Piece k is the init segment and every fragment that starts before `ends[k]` seconds (and not before the
    end of piece k - 1), the way `hls.piece` puts fragments in segments. It is handed to `done(k, bytes)` as
    soon as a fragment of a later piece shows it complete, the last one at `close`: so each piece can be stored
    and played while the rest is still being encoded, and the pieces join as the one track would.
    """

    def __init__(self, ends: Sequence[float], done: Callable[[int, bytes], None]) -> None:
        if not ends:
            raise ValueError("a splitter needs at least one piece")
        self._ends, self._done = list(ends), done
        self._buffer = bytearray()
        self._init = bytearray()
        self._timescale: int | None = None
        self._piece = 0
        self._fragments = bytearray()
        self.pieces = 0  # handed over so far

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while (box := self._next_box()) is not None:
            self._take(box)

    def close(self) -> int:
        """Hand over the last piece; how many pieces there were."""
        if self._buffer:
            raise Fmp4Error(f"the stream ended inside a box ({len(self._buffer)} bytes left over)")
        self._flush()
        return self.pieces

    def _next_box(self) -> bytes | None:
        if len(self._buffer) < 8:
            return None
        size, _ = struct.unpack_from(">I4s", self._buffer)
        if size == 1:
            if len(self._buffer) < 16:
                return None
            (size,) = struct.unpack_from(">Q", self._buffer, 8)
        elif size < 8:
            raise Fmp4Error("a box of unknown size in a stream")
        if len(self._buffer) < size:
            return None
        box = bytes(self._buffer[:size])
        del self._buffer[:size]
        return box

    def _take(self, box: bytes) -> None:
        kind = box[4:8]
        if kind in (b"ftyp", b"moov"):
            if self._fragments or self.pieces:
                raise Fmp4Error("an init segment after the fragments")
            self._init += box
            if kind == b"moov":
                trak = _one(box, _one(box, None, "moov"), "trak")
                self._timescale = _timescale(box, _one(box, trak, "mdia", "mdhd"))
        elif kind == b"moof":
            if self._timescale is None:
                raise Fmp4Error("a fragment before the init segment")
            tfdt = _one(box, _one(box, _one(box, None, "moof"), "traf"), "tfdt")
            version, _ = _version_flags(box, tfdt)
            (start,) = struct.unpack_from(">Q" if version == 1 else ">I", box, tfdt.body + 4)
            tolerance = self._timescale // 1000  # as hls.piece: a fragment a tick early is the next one's
            while self._piece < len(self._ends) - 1 and start + tolerance >= self._ends[self._piece] * self._timescale:
                self._flush()
                self._piece += 1
            self._fragments += box
        elif kind == b"mdat":
            self._fragments += box
        # (anything else at the top level, a trailer's mfra, is not part of a segment)

    def _flush(self) -> None:
        if not self._fragments:
            return
        self._done(self._piece, bytes(self._init + self._fragments))
        self._fragments = bytearray()
        self.pieces += 1
