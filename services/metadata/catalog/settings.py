"""The metadata service's settings: every variable it knows, each read when a function first uses it."""

from __future__ import annotations

from functools import cache

from lambdakit.settings import Setting, Settings, positive


class CatalogSettings(Settings):
    catalog_table = Setting("CATALOG_TABLE")
    catalog_events_topic_arn = Setting("CATALOG_EVENTS_TOPIC_ARN")
    uploads_bucket = Setting("UPLOADS_BUCKET")
    probe_timeout_seconds = Setting("PROBE_TIMEOUT_SECONDS", float, default=60.0, check=positive)
    playback_grants_table = Setting("PLAYBACK_GRANTS_TABLE")
    # The CDN that serves the media of a playback link; all empty: S3 presigned URLs (the local stack)
    cdn_domain = Setting("CDN_DOMAIN", default="")
    cdn_key_pair_id = Setting("CDN_KEY_PAIR_ID", default="")
    cdn_private_key_parameter = Setting("CDN_PRIVATE_KEY_PARAMETER", default="")


@cache
def settings() -> CatalogSettings:
    return CatalogSettings()
