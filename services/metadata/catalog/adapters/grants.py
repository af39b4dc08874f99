"""Playback grants in DynamoDB: one item per grant, and per owner and video a pointer to the grant last issued
(`live#{video_id}#{owner}`: a grant id has no '#'), each removed by the table's TTL after it expires."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from catalog.logic.ports import Grant

LOST = {"ConditionalCheckFailed", "TransactionConflict"}  # another request's grant came first


def pointer_key(owner: str, video_id: str) -> str:
    return f"live#{video_id}#{owner}"  # (a video id is 32 hex digits: the owner is all that follows)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())  # epoch seconds: what DynamoDB's TTL reads


def _item(grant: Grant) -> dict[str, Any]:
    item = {
        "grant_id": grant.grant_id,
        "video_id": grant.video_id,
        "owner": grant.owner,
        "bucket": grant.bucket,
        "prefix": grant.prefix,
        "master": grant.master,
        "expires_at": _epoch(grant.expires_at),
    }
    return item | ({"issued_at": _epoch(grant.issued_at)} if grant.issued_at else {})


def _grant(item: dict[str, Any], grant_id: str) -> Grant:
    issued = item.get("issued_at")
    return Grant(
        grant_id=grant_id,
        video_id=item["video_id"],
        owner=item["owner"],
        bucket=item["bucket"],
        prefix=item["prefix"],
        master=item["master"],
        expires_at=datetime.fromtimestamp(int(item["expires_at"]), UTC),
        issued_at=datetime.fromtimestamp(int(issued), UTC) if issued is not None else None,
    )


class DynamoGrants:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, grant_id: str) -> Grant | None:
        item = self._table.get_item(Key={"grant_id": grant_id}).get("Item")
        if not item or "live_grant" in item:  # (a pointer is no grant)
            return None
        return _grant(item, item["grant_id"])

    def live(self, owner: str, video_id: str) -> Grant | None:
        key = {"grant_id": pointer_key(owner, video_id)}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return _grant(item, item["live_grant"]) if item else None

    def issue(self, grant: Grant, *, replacing: Grant | None) -> bool:
        name, new = self._table.name, "attribute_not_exists(grant_id)"
        pointer = _item(grant) | {"grant_id": pointer_key(grant.owner, grant.video_id), "live_grant": grant.grant_id}
        # the pointer is still what the caller read: none, or the grant it replaces
        still: dict[str, Any] = {"ConditionExpression": new}
        if replacing is not None:
            still = {
                "ConditionExpression": "live_grant = :seen",
                "ExpressionAttributeValues": {":seen": replacing.grant_id},
            }
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": name, "Item": _item(grant), "ConditionExpression": new}},
                    {"Put": {"TableName": name, "Item": pointer, **still}},
                ]
            )
        except ClientError as exc:
            reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException" and reasons & LOST:
                return False
            raise
        return True
