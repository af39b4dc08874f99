"""What every frame needs before it is scaled into the rungs, so that people see what the source meant. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Picture:
    """Decided by the gate from the probe (the plan adds the lead-in per chunk); the chunk encoder applies it
    once, before the ladder's split, so every rung, the poster and the thumbnails get it alike."""

    deinterlace: bool = False  # fields woven into frames (1080i, broadcast, DV): one progressive frame per frame
    tone_map: str | None = None  # "hlg" or "pq": HDR turned into SDR BT.709 (8-bit H.264 has no HDR)
    to_bt709: bool = False  # SDR with BT.2020 primaries: converted to BT.709, which every player assumes
    # seconds the picture starts after the sound (only for the first chunk): black frames from 0 until it starts,
    # so the stream has a picture wherever it has sound (a player plays only where both are), and every source
    # frame keeps its time
    late_start: float = 0.0
    # frames at irregular times (a phone in low light): encoded without B-frames. With them, the encoder's
    # decode-ahead delay depends on the first frames' durations, so each chunk would have its own; under the one
    # init segment of a rung a later chunk would then be shown early, its first frame over the previous one's last
    variable_rate: bool = False


AS_IS = Picture()  # nothing to do: progressive SDR BT.709 from the start
