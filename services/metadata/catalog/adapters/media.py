"""Rendition metadata: ffprobe reads our own renditions through short-lived signed URLs."""

from __future__ import annotations

from typing import Any

import mediatools
from contracts import RenditionFile
from contracts.media import MediaSummary, summarise

# Only for renditions the transcode service wrote: ffprobe reads the moov atom
# (at the front, +faststart) over HTTP instead of downloading the whole file.
URL_PROTOCOLS = ("http", "https", "tcp", "tls")


class SignedUrlProber:
    def __init__(self, s3_client: Any, *, timeout: float = 60) -> None:
        self._s3, self._timeout = s3_client, timeout

    def probe(self, rendition: RenditionFile) -> MediaSummary:
        url = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": rendition.bucket, "Key": rendition.key}, ExpiresIn=300
        )
        return summarise(mediatools.probe(url, protocols=URL_PROTOCOLS, timeout=self._timeout))
