"""24-Hour Video contracts: every model that crosses a service boundary."""

from contracts.delivery import (
    UnreadableMessage,
    describe,
    open_delivery,
    open_s3_event,
    open_video_event,
    uploaded_objects,
)
from contracts.events import (
    DomainEvent,
    FailureReason,
    PosterFile,
    RenditionFile,
    SourceObject,
    VideoDeleted,
    VideoReady,
    VideoTranscoded,
    VideoTranscodeFailed,
    stable_event_id,
)
from contracts.keys import UploadKey, parse_upload_key, poster_key, rendition_key
from contracts.s3 import S3Event, S3EventRecord, S3TestEvent

__all__ = [
    "DomainEvent",
    "FailureReason",
    "PosterFile",
    "RenditionFile",
    "S3Event",
    "S3EventRecord",
    "S3TestEvent",
    "SourceObject",
    "UnreadableMessage",
    "UploadKey",
    "VideoDeleted",
    "VideoReady",
    "VideoTranscodeFailed",
    "VideoTranscoded",
    "describe",
    "open_delivery",
    "open_s3_event",
    "open_video_event",
    "parse_upload_key",
    "poster_key",
    "rendition_key",
    "stable_event_id",
    "uploaded_objects",
]
