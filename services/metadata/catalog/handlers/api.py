"""The catalog API: GET /videos and GET /videos/{id}, for the signed-in caller's own videos only."""

from __future__ import annotations

from functools import cache
from typing import Any

from catalog.logic.views import BadRequest, NotFound, delete_video, list_videos, page_size, video_details
from catalog.settings import get_settings
from lambdakit.http import Caller, HttpError, api, json_response


@cache
def _table() -> Any:
    import boto3

    return boto3.resource("dynamodb").Table(get_settings().catalog_table)


@cache
def _signer() -> Any:
    import boto3

    from catalog.adapters.signer import SIGV4, S3UrlSigner

    return S3UrlSigner(boto3.client("s3", config=SIGV4))


def _errors(route):  # the logic's refusals as HTTP
    def wrapped(event: dict[str, Any], caller: Caller) -> dict[str, Any]:
        try:
            return route(event, caller)
        except BadRequest as exc:
            raise HttpError(400, str(exc)) from None
        except NotFound:
            raise HttpError(404, "video not found") from None

    return wrapped


@api
@_errors
def list_handler(event: dict[str, Any], caller: Caller) -> dict[str, Any]:
    from catalog.adapters.dynamo import OwnerIndexQuery

    query = event.get("queryStringParameters") or {}
    page = list_videos(
        OwnerIndexQuery(_table()), caller.sub, limit=page_size(query.get("limit")), cursor=query.get("cursor")
    )
    return json_response(200, page)


@api
@_errors
def get_handler(event: dict[str, Any], caller: Caller) -> dict[str, Any]:
    from catalog.adapters.dynamo import DynamoCatalog

    video_id = (event.get("pathParameters") or {}).get("id", "")
    return json_response(200, video_details(DynamoCatalog(_table()), _signer(), caller.sub, video_id))


@cache
def _publisher() -> Any:
    import boto3

    from lambdakit.sns import SnsPublisher

    return SnsPublisher(boto3.client("sns"), get_settings().catalog_events_topic_arn)


@api
@_errors
def delete_handler(event: dict[str, Any], caller: Caller) -> dict[str, Any]:
    from catalog.adapters.dynamo import DynamoCatalog

    video_id = (event.get("pathParameters") or {}).get("id", "")
    request_id = (event.get("requestContext") or {}).get("requestId") or video_id
    delete_video(DynamoCatalog(_table()), _publisher(), caller.sub, video_id, correlation_id=request_id)
    return json_response(204, None)
