"""The metadata service's settings: read once from the environment, at the edge."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class CatalogSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    catalog_table: str = Field(alias="CATALOG_TABLE")
    catalog_events_topic_arn: str = Field(alias="CATALOG_EVENTS_TOPIC_ARN")
    uploads_bucket: str = Field(alias="UPLOADS_BUCKET")
    probe_timeout_seconds: float = Field(60, alias="PROBE_TIMEOUT_SECONDS", gt=0)


@cache
def get_settings() -> CatalogSettings:
    names = {field.alias for field in CatalogSettings.model_fields.values()}
    return CatalogSettings.model_validate({k: v for k, v in os.environ.items() if k in names})
