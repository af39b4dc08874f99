"""Request and response bodies of the HTTP API (what clients send and get back)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events import VideoId
from contracts.media import MediaSummary
from contracts.text import DisplayText, ParagraphText

MAX_PAGE = 50
MAX_PARTS = 10_000  # S3's part numbers are 1 to 10,000
PartNumber = Annotated[int, Field(ge=1, le=MAX_PARTS)]
MAX_PARTS_SIGNED = 1000  # part URLs signed in one request: a few seconds of a small Lambda's CPU at most


MAX_TITLE = 255  # a file name's length: a title defaults to the name of the file uploaded
MAX_DESCRIPTION = 5000
# A share id: 22 random URL-safe characters (secrets.token_urlsafe(16), 128 bits) then the video's id. The random
# part is the authority (compared in constant time); the id finds the video in one strongly consistent read.
SHARE_KEY_LENGTH = 22
SHARE_ID_RE = re.compile(rf"[A-Za-z0-9_-]{{{SHARE_KEY_LENGTH}}}[A-Za-z0-9][A-Za-z0-9_-]{{7,63}}")


class Visibility(StrEnum):
    """Who may watch a video: its owner only; anyone with its share link; or anyone, and listed on the public page."""

    PRIVATE = "private"
    UNLISTED = "unlisted"
    PUBLIC = "public"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Params(BaseModel):
    """Path and query parameters: strings on the wire, parsed here; parameters nobody asked for are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class VideoRef(_Params):
    """/videos/{id}"""

    id: VideoId


class UploadRef(_Params):
    """/uploads/{video_id}/..."""

    video_id: VideoId


class MultipartRef(_Params):
    """DELETE /uploads/{video_id}?upload_id="""

    video_id: VideoId
    upload_id: str = Field(min_length=1, max_length=1024, description="`upload_id` of the multipart upload")


class PageQuery(_Params):
    """GET /videos?limit=&cursor="""

    limit: int = Field(20, ge=1, le=MAX_PAGE, description="videos per page")
    cursor: str | None = Field(None, max_length=2048, description="`next_cursor` of the previous page")


class CreateUpload(_Body):
    """POST /uploads. The key is the server's choice: only a file name is asked for."""

    filename: DisplayText = Field(min_length=1, max_length=255)
    content_type: str = Field(pattern=r"^video/[A-Za-z0-9][A-Za-z0-9.+-]{0,100}$")
    size: int = Field(gt=0, description="bytes")


class UploadForm(_Body):
    """A presigned POST: send `fields` and then the file (as `file`) to `url` as multipart/form-data."""

    video_id: str
    url: str
    fields: dict[str, str]
    expires_in: int = Field(description="seconds the form stays valid")
    max_size: int


class ApiError(_Body):
    message: str


class SignedFile(_Body):
    url: str | None = Field(description="Signed GET URL, only once READY; expires with `urls_expire_at`.")
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None


class VideoSummary(_Body):
    video_id: str
    title: str | None
    status: str
    created_at: str | None
    visibility: Visibility = Visibility.PRIVATE
    share_id: str | None = Field(
        None, description="While unlisted or public: the video's share page is /v/{share_id} on the website."
    )
    views: int = Field(0, ge=0, description="Playback sessions that started (POST /views), the owner's included.")
    duration_seconds: float | None = None
    progress: float | None = Field(
        None, ge=0, le=1, description="Share of the source encoded so far, 0 to 1: only while PROCESSING."
    )
    playable_seconds: float | None = Field(
        None,
        ge=0,
        description="While PROCESSING: seconds from the start that can be watched already (GET /videos/{id} has "
        "the link); None until the start is encoded, and once READY.",
    )
    poster: SignedFile | None = Field(
        None,
        description="The poster image, once READY or playable: `url` is valid 15 minutes.",
    )


class VideoPage(_Body):
    """GET /videos: the caller's videos, newest first. Pass `next_cursor` back as `cursor` for more."""

    videos: list[VideoSummary]
    next_cursor: str | None


class RenditionView(SignedFile):
    name: str
    metadata: MediaSummary | None = None


class Processing(_Body):
    """When each stage ran, and the transcoder's own step timings (seconds)."""

    transcode_started_at: str | None = None
    transcoded_at: str | None = None
    transcode_timings: dict[str, float] = Field(default_factory=dict)
    metadata_seconds: float | None = None
    chunks: int | None = Field(None, description="How many chunks the source was encoded in (once transcoded).")


class FailedChunk(_Body):
    """The time range of the source whose encode failed."""

    index: int
    start_seconds: float
    end_seconds: float


class Failure(_Body):
    code: str = Field(examples=["NO_VIDEO_STREAM"])
    reason: str = Field(
        description="A sentence for the person who uploaded, about their video: one per code "
        "(contracts.readable.FAILURE_SENTENCES), naming the part of the video when a chunk failed.",
        examples=["This file has no picture: it looks like a sound recording. Upload a video file instead."],
    )
    chunk: FailedChunk | None = Field(None, description="The chunk that failed, when one did.")


class StreamRung(_Body):
    """One rung of the HLS ladder, as a player chooses it."""

    name: str = Field(examples=["720p"])
    width: int
    height: int
    bandwidth: int = Field(description="Peak bits per second, audio included.")
    average_bandwidth: int | None = Field(None, description="Average bits per second, audio included.")
    codecs: str = Field(examples=["avc1.64001f,mp4a.40.2"])
    frame_rate: float | None = None


class StreamView(_Body):
    """The adaptive HLS ladder the video is streamed in (`playback` has its link)."""

    renditions: list[StreamRung] = Field(description="Best first.")
    audio: bool = Field(description="Whether the package has an audio track.")
    segment_seconds: float
    duration_seconds: float


class ThumbnailsView(_Body):
    """Seek-bar previews: one frame every `interval_seconds`, each `width` x `height`."""

    interval_seconds: float
    width: int
    height: int


class PlaybackView(_Body):
    """Links that play the video with no token (hls.js, Safari's native HLS): they end at `expires_at`."""

    hls: str = Field(description="The HLS master playlist: give it to the player as it is.")
    thumbnails: str | None = Field(None, description="WebVTT track of seek-bar previews (cues `image#xywh=`).")
    expires_at: str = Field(description="When the links (and every URL in the playlists) stop working.")


class PlaybackRef(_Params):
    """/playback/{grant}/{path+}: checked by the route itself, so every wrong one is the same 404."""

    grant: str
    path: str


class VideoDetails(_Body):
    """GET /videos/{id}."""

    video_id: str
    title: str | None
    description: str = ""
    visibility: Visibility = Visibility.PRIVATE
    share_id: str | None = Field(
        None, description="While unlisted or public: the video's share page is /v/{share_id} on the website."
    )
    views: int = Field(0, ge=0, description="Playback sessions that started (POST /views), the owner's included.")
    status: str
    created_at: str | None
    uploaded_at: str | None = None
    ready_at: str | None = None
    progress: float | None = Field(
        None, ge=0, le=1, description="Share of the source encoded so far, 0 to 1: only while PROCESSING."
    )
    duration_seconds: float | None = Field(
        None, description="The video's length: once READY, and while PROCESSING once its start plays."
    )
    playable_seconds: float | None = Field(
        None,
        ge=0,
        description="While PROCESSING: seconds from the start that play already through `playback` (its "
        "playlists grow as the rest is encoded, and end when READY); None until the start is encoded.",
    )
    failure: Failure | None = Field(None, description="Why the transcoder gave up: only while FAILED.")
    metadata: MediaSummary | None = None
    stream: StreamView | None = Field(None, description="The HLS ladder, once READY (not for older videos).")
    renditions: list[RenditionView] = Field(
        default_factory=list, description="MP4 downloads, best first; a long video may have none."
    )
    poster: SignedFile | None = None
    thumbnails: ThumbnailsView | None = None
    playback: PlaybackView | None = Field(
        None,
        description="The links to play it: once READY with an HLS package, and while PROCESSING once its start "
        "plays (`playable_seconds`; the same link then plays the whole video).",
    )
    urls_expire_at: str | None = None
    processing: Processing | None = None


class UpdateVideo(_Body):
    """PATCH /videos/{id}: what to change (at least one)."""

    title: DisplayText | None = Field(None, min_length=1, max_length=MAX_TITLE)
    description: ParagraphText | None = Field(None, max_length=MAX_DESCRIPTION)
    visibility: Visibility | None = Field(
        None,
        description="private: the owner only (its share link stops working at once); unlisted: anyone with the "
        "share link; public: that, and listed on the public page. Unlisted or public again revives the same link.",
    )
    new_share_link: bool = Field(
        False, description="Give the video a new share id: the old link stops working for good (for a leaked link)."
    )

    @model_validator(mode="after")
    def _something(self) -> UpdateVideo:
        if self.title is None and self.description is None and self.visibility is None and not self.new_share_link:
            raise ValueError("give title, description, visibility or new_share_link")
        return self


class ViewStarted(_Body):
    """POST /views: a playback session really started (the player's first frame), told once by the player.

    `grant` is the grant in the playback link it plays (what proves it may play the video); `session` is random,
    made by the player for this one session and kept nowhere: a beacon sent again counts nothing."""

    grant: str = Field(min_length=1, max_length=64)
    session: str = Field(pattern=r"^[A-Za-z0-9_-]{22,64}$")


class ShareRef(_Params):
    """/shared/{share_id}: checked by the route itself, so every wrong one is the same 404."""

    share_id: str = Field(max_length=128)


class PublicQuery(_Params):
    """GET /public/videos?limit=&cursor="""

    limit: int = Field(20, ge=1, le=MAX_PAGE, description="videos per page")
    cursor: str | None = Field(None, max_length=2048, description="`next_cursor` of the previous page")


class SharedVideo(_Body):
    """GET /shared/{share_id}: an unlisted or public video as anyone sees it (no sign-in). Never the owner's sub or
    e-mail: only the name they chose to be seen by."""

    share_id: str
    title: str | None
    description: str = ""
    owner_name: str | None = Field(description="The display name the owner chose; None if they chose none.")
    created_at: str | None
    status: str
    duration_seconds: float | None = None
    playable_seconds: float | None = Field(None, ge=0, description="While PROCESSING: seconds that play already.")
    poster: SignedFile | None = None
    thumbnails: ThumbnailsView | None = None
    playback: PlaybackView | None = Field(
        None,
        description="Links that play it, shorter-lived than the owner's (see `expires_at`): ask this route again "
        "for fresh ones. None while nothing plays yet.",
    )


class OEmbedQuery(_Params):
    """GET /oembed?url=&format=&maxwidth=&maxheight= (oEmbed 1.0: https://oembed.com)"""

    url: str = Field(max_length=2048, description="A share page's address: {website}/v/{share_id}.")
    format: Literal["json"] = Field("json", description="json: the only format served (xml is refused, 400).")
    maxwidth: int | None = Field(None, ge=1, le=10_000)
    maxheight: int | None = Field(None, ge=1, le=10_000)


class OEmbed(_Body):
    """An oEmbed 1.0 `video` answer: `html` is an <iframe> of the video's embed page."""

    version: str = "1.0"
    type: str = "video"
    provider_name: str
    provider_url: str
    title: str | None
    author_name: str | None = Field(None, description="The display name the owner chose, if any.")
    html: str
    width: int
    height: int
    cache_age: int = Field(description="Seconds a consumer may keep this answer.")


class PublicVideo(_Body):
    share_id: str
    title: str | None
    owner_name: str | None
    created_at: str | None
    duration_seconds: float | None = None
    poster: SignedFile | None = None


class PublicPage(_Body):
    """GET /public/videos: everyone's public videos that play, newest first. Pass `next_cursor` back as `cursor`."""

    videos: list[PublicVideo]
    next_cursor: str | None


class UpdateProfile(_Body):
    """PUT /me: what to change (at least one of them)."""

    display_name: DisplayText | None = Field(None, min_length=1, max_length=64)
    email_notifications: bool | None = Field(
        None, description="E-mail me when a video of mine is READY or FAILED (to the address my sign-in gives)."
    )

    @model_validator(mode="after")
    def _something(self) -> UpdateProfile:
        if self.display_name is None and self.email_notifications is None:
            raise ValueError("give display_name, email_notifications or both")
        return self


class Profile(_Body):
    """GET /me: what the token proved, and what the user chose."""

    sub: str
    email: str | None
    username: str | None
    display_name: str | None
    email_notifications: bool = Field(False, description="Whether the user is e-mailed when a video is final.")


class PartUrl(_Body):
    part_number: int
    url: str


class MultipartUpload(_Body):
    """A file above the single-POST limit: PUT each part to its URL, then POST /uploads/{video_id}/complete."""

    video_id: str
    upload_id: str
    part_size: int
    parts: list[PartUrl]
    expires_in: int


class CompletedPart(_Body):
    part_number: PartNumber
    etag: str = Field(min_length=1, max_length=128)


class UploadCompleted(_Body):
    """POST /uploads/{video_id}/complete: the file is in place; the video appears in the catalog shortly."""

    video_id: str


class CompleteUpload(_Body):
    """POST /uploads/{video_id}/complete."""

    upload_id: str = Field(min_length=1, max_length=1024)
    parts: list[CompletedPart] = Field(min_length=1, max_length=MAX_PARTS)


class ResumeUpload(_Body):
    """POST /uploads/{video_id}/parts: to carry on with a multipart upload (after a reload, a lost connection, or
    once its part URLs have expired)."""

    upload_id: str = Field(min_length=1, max_length=1024)
    part_numbers: list[PartNumber] = Field(
        default_factory=list,
        max_length=MAX_PARTS_SIGNED,
        description="The parts to sign a fresh URL for: none to only ask what S3 has, at most 1,000 a request.",
    )


class UploadedPart(_Body):
    """A part S3 has: its ETag is what POST /uploads/{video_id}/complete needs."""

    part_number: int
    etag: str
    size: int = Field(description="bytes")


class UploadParts(_Body):
    """POST /uploads/{video_id}/parts: the parts S3 already has, and fresh signed URLs for the parts asked for.

    The part size is the `part_size` POST /uploads gave: keep it with the `upload_id`."""

    video_id: str
    upload_id: str
    uploaded: list[UploadedPart] = Field(description="By part number.")
    parts: list[PartUrl] = Field(description="One signed PUT URL per part number asked for, by part number.")
    expires_in: int = Field(description="seconds the part URLs stay valid")
