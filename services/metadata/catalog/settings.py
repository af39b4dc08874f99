"""The metadata service's settings: every variable it knows, each read when a function first uses it."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from lambdakit.settings import Setting, Settings, positive


def api_url(text: str) -> str:
    """An http(s) URL with a host, and maybe a base path, but no query or fragment; without its trailing /."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be the API's URL, such as https://api.example.com or https://example.com/api")
    return parts.geturl().rstrip("/")


class CatalogSettings(Settings):
    catalog_table = Setting("CATALOG_TABLE")
    catalog_events_topic_arn = Setting("CATALOG_EVENTS_TOPIC_ARN")
    uploads_bucket = Setting("UPLOADS_BUCKET")
    probe_timeout_seconds = Setting("PROBE_TIMEOUT_SECONDS", float, default=60.0, check=positive)
    playback_grants_table = Setting("PLAYBACK_GRANTS_TABLE")
    # the website (its share and embed pages, for oEmbed): the websiteUrl param; empty: none (oEmbed finds nothing)
    website_url = Setting("WEBSITE_URL", lambda text: api_url(text) if text else "", default="")
    owners_table = Setting("OWNERS_TABLE")  # the names owners chose to be seen by (DisplayNameChanged)
    # Where playback links point (serverless.yml: the API's own URL, or the publicApiUrl param), never the Host
    public_api_url = Setting("PUBLIC_API_URL", api_url)
    # The CDN that serves the media of a playback link; all empty: S3 presigned URLs (the local stack)
    cdn_domain = Setting("CDN_DOMAIN", default="")
    cdn_key_pair_id = Setting("CDN_KEY_PAIR_ID", default="")
    cdn_private_key_parameter = Setting("CDN_PRIVATE_KEY_PARAMETER", default="")


@cache
def settings() -> CatalogSettings:
    return CatalogSettings()
