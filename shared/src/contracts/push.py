"""What the notifier posts to a browser's WebSocket: one small JSON message per change of one of its videos."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import VideoId, VideoStatus, VideoStatusChanged, VideoStatusChangedV1
from contracts.readable import failure_words


class StatusPush(BaseModel):
    """A change of one of the connected user's videos: what a page needs to update that video's card.

    At least once: a message may come twice or out of order. Keep, per video, the highest `sequence` seen and
    ignore any message whose `sequence` is not higher (`event_id` repeats for a repeated change).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["video-status"] = "video-status"
    schema_version: Literal[2] = 2  # 2: playable_seconds
    event_id: str
    video_id: VideoId
    status: VideoStatus
    rank: int
    progress: float | None = Field(description="Share of the encoding done, only while PROCESSING.")
    playable_seconds: float | None = Field(
        None, description="While PROCESSING, seconds from the start that play already: the video can be watched."
    )
    reason: str | None = Field(description="Why it FAILED: a sentence for the uploader, about their video.")
    title: str | None
    sequence: int = Field(description="Grows with every change of this video: order by it.")
    occurred_at: datetime


def status_push(event: VideoStatusChanged | VideoStatusChangedV1) -> StatusPush:
    """The push for a catalog change (the owner is whom it goes to, so it is left out); a FAILED one's reason is
    one of our sentences, whatever text an older change carried."""
    return StatusPush(
        event_id=event.event_id,
        video_id=event.video_id,
        status=event.status,
        rank=event.rank,
        progress=event.progress,
        playable_seconds=event.playable_seconds,
        reason=failure_words(event.reason) if event.status == VideoStatus.FAILED else None,
        title=event.title,
        sequence=event.sequence,
        occurred_at=event.occurred_at,
    )
