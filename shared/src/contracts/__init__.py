"""24-Hour Video contracts: every model that crosses a service boundary."""

from contracts.delivery import (
    UnreadableMessage,
    describe,
    open_delivery,
    open_s3_event,
    open_uploads,
    open_video_event,
)
from contracts.events import (
    AnyVideoEvent,
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
from contracts.keys import UploadKey, parse_upload_key, poster_key, rendition_key, upload_key, upload_prefix
from contracts.s3 import S3Event, S3EventRecord, S3TestEvent
from contracts.uploads import Upload, upload_of

__all__ = [
    "AnyVideoEvent",
    "DomainEvent",
    "FailureReason",
    "PosterFile",
    "RenditionFile",
    "S3Event",
    "S3EventRecord",
    "S3TestEvent",
    "SourceObject",
    "UnreadableMessage",
    "Upload",
    "UploadKey",
    "VideoDeleted",
    "VideoReady",
    "VideoTranscodeFailed",
    "VideoTranscoded",
    "describe",
    "open_delivery",
    "open_s3_event",
    "open_uploads",
    "open_video_event",
    "parse_upload_key",
    "poster_key",
    "rendition_key",
    "stable_event_id",
    "upload_key",
    "upload_of",
    "upload_prefix",
]
