"""The metadata service's settings: every variable it knows, each read when a function first uses it."""

from __future__ import annotations

from functools import cache

from lambdakit.settings import Setting, Settings, positive


class CatalogSettings(Settings):
    catalog_table = Setting("CATALOG_TABLE")
    catalog_events_topic_arn = Setting("CATALOG_EVENTS_TOPIC_ARN")
    uploads_bucket = Setting("UPLOADS_BUCKET")
    probe_timeout_seconds = Setting("PROBE_TIMEOUT_SECONDS", float, default=60.0, check=positive)


@cache
def settings() -> CatalogSettings:
    return CatalogSettings()
