"""The catalog's collaborators: one cached builder per function (named after it), given only what that
function uses. Clients are made on first use, so importing a handler costs no boto3."""

from __future__ import annotations

from functools import cache
from typing import Any

from catalog.logic.audience import ViewDeps
from catalog.logic.playback import GrantDeps, PlaybackDeps
from catalog.logic.ports import MediaSigner, OwnerNames
from catalog.logic.records import CatalogDeps, UploadDeps
from catalog.logic.sharing import EmbedDeps, PublicDeps, ShareDeps, UpdateDeps
from catalog.logic.views import DeleteDeps, DetailsDeps, ListDeps
from catalog.settings import settings


@cache
def _table() -> Any:
    import boto3

    return boto3.resource("dynamodb").Table(settings().catalog_table)


@cache
def _grants() -> Any:
    import boto3

    from catalog.adapters.grants import DynamoGrants

    return DynamoGrants(boto3.resource("dynamodb").Table(settings().playback_grants_table))


@cache
def _catalog() -> Any:
    from catalog.adapters.dynamo import DynamoCatalog

    return DynamoCatalog(_table())


@cache
def _s3() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(signature_version="s3v4"))  # signed URLs say how long they last


@cache
def _publisher() -> Any:
    import boto3

    from lambdakit.sns import SnsPublisher

    return SnsPublisher(boto3.client("sns"), settings().catalog_events_topic_arn)


@cache
def record_upload() -> UploadDeps:
    from catalog.observability import meter

    return UploadDeps(store=_catalog(), uploads_bucket=settings().uploads_bucket, publisher=_publisher(), meter=meter)


@cache
def record_video_event() -> CatalogDeps:
    from catalog.adapters.media import SignedUrlProber
    from catalog.observability import meter

    return CatalogDeps(
        store=_catalog(),
        prober=SignedUrlProber(_s3(), timeout=settings().probe_timeout_seconds),
        publisher=_publisher(),
        meter=meter,
    )


@cache
def list_videos() -> ListDeps:
    from catalog.adapters.dynamo import OwnerIndexQuery
    from catalog.adapters.signer import S3UrlSigner

    return ListDeps(index=OwnerIndexQuery(_table()), signer=S3UrlSigner(_s3()))


@cache
def get_video() -> DetailsDeps:
    from catalog.adapters.signer import S3UrlSigner

    grants = GrantDeps(grants=_grants(), api_url=settings().public_api_url)
    return DetailsDeps(store=_catalog(), signer=S3UrlSigner(_s3()), grants=grants)


def _media_signer() -> MediaSigner:
    """The CDN's signed URLs when the stage configures one (its private key read once, from SSM), else S3's."""
    config = settings()
    domain, key_pair_id, parameter = config.cdn_domain, config.cdn_key_pair_id, config.cdn_private_key_parameter
    if not (domain and key_pair_id and parameter):
        from catalog.adapters.signer import S3UrlSigner

        return S3UrlSigner(_s3())
    import boto3

    from catalog.adapters.cdn import CloudFrontUrlSigner

    pem = boto3.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    return CloudFrontUrlSigner(domain, key_pair_id, pem.encode())


@cache
def serve_playback() -> PlaybackDeps:
    from catalog.adapters.package import S3PackageFiles

    return PlaybackDeps(
        grants=_grants(),
        files=S3PackageFiles(_s3()),
        signer=_media_signer(),
        videos=_catalog(),
        api_url=settings().public_api_url,
    )


@cache
def _owner_names() -> OwnerNames:
    import boto3

    from catalog.adapters.dynamo import DynamoOwnerNames

    return DynamoOwnerNames(boto3.resource("dynamodb").Table(settings().owners_table))


@cache
def update_video() -> UpdateDeps:
    return UpdateDeps(store=_catalog(), details=get_video())


@cache
def get_shared_video() -> ShareDeps:
    from catalog.adapters.signer import S3UrlSigner

    return ShareDeps(
        store=_catalog(),
        names=_owner_names(),
        signer=S3UrlSigner(_s3()),
        grants=GrantDeps(grants=_grants(), api_url=settings().public_api_url),
    )


@cache
def list_public_videos() -> PublicDeps:
    from catalog.adapters.dynamo import PublicIndexQuery
    from catalog.adapters.signer import S3UrlSigner

    return PublicDeps(index=PublicIndexQuery(_table()), names=_owner_names(), signer=S3UrlSigner(_s3()))


@cache
def record_owner_name() -> OwnerNames:
    return _owner_names()


@cache
def oembed() -> EmbedDeps:
    return EmbedDeps(store=_catalog(), names=_owner_names(), website=settings().website_url)


@cache
def count_view() -> ViewDeps:
    import boto3

    from catalog.adapters.grants import DynamoViewCounter

    table = boto3.resource("dynamodb").Table(settings().playback_grants_table)
    return ViewDeps(grants=_grants(), videos=_catalog(), counter=DynamoViewCounter(table, settings().catalog_table))


@cache
def delete_video() -> DeleteDeps:
    return DeleteDeps(store=_catalog(), publisher=_publisher())
