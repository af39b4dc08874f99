"""The catalog's collaborators, built once per Lambda container."""

from __future__ import annotations

from functools import cache

from catalog.logic.records import CatalogDeps
from catalog.settings import get_settings


@cache
def get_deps() -> CatalogDeps:
    import boto3

    from catalog.adapters.dynamo import DynamoCatalog
    from catalog.adapters.media import SignedUrlProber
    from catalog.adapters.signer import SIGV4
    from lambdakit.sns import SnsPublisher

    settings = get_settings()
    return CatalogDeps(
        store=DynamoCatalog(boto3.resource("dynamodb").Table(settings.catalog_table)),
        prober=SignedUrlProber(boto3.client("s3", config=SIGV4), timeout=settings.probe_timeout_seconds),
        publisher=SnsPublisher(boto3.client("sns"), settings.catalog_events_topic_arn),
    )
