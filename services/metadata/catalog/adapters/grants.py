"""Playback grants in DynamoDB: one item per grant, and per owner and video a pointer to the grant last issued
(`live#{video_id}#{owner}`: a grant id has no '#'), and per video one to the share link's (`shared#{video_id}`),
each removed by the table's TTL after it expires."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from catalog.logic.ports import Grant

LOST = {"ConditionalCheckFailed", "TransactionConflict"}  # another request's grant came first


def pointer_key(owner: str, video_id: str, *, shared: bool = False) -> str:
    if shared:
        return f"shared#{video_id}"  # the share link's grant: one per video, for anyone
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
    item |= {"issued_at": _epoch(grant.issued_at)} if grant.issued_at else {}
    return item | ({"share_key": grant.share_key} if grant.share_key else {})


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
        share_key=item.get("share_key"),
    )


def _transacted(table: Any, items: list[dict[str, Any]]) -> bool:
    """One TransactWriteItems; False (nothing written) when a condition did not hold or another transaction won."""
    try:
        table.meta.client.transact_write_items(TransactItems=items)
    except ClientError as exc:
        reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
        if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException" and reasons & LOST:
            return False
        raise
    return True


class DynamoGrants:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, grant_id: str) -> Grant | None:
        item = self._table.get_item(Key={"grant_id": grant_id}).get("Item")
        if not item or "live_grant" in item:  # (a pointer is no grant)
            return None
        return _grant(item, item["grant_id"])

    def live(self, owner: str, video_id: str, *, shared: bool = False) -> Grant | None:
        key = {"grant_id": pointer_key(owner, video_id, shared=shared)}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return _grant(item, item["live_grant"]) if item else None

    def issue(self, grant: Grant, *, replacing: Grant | None) -> bool:
        name, new = self._table.name, "attribute_not_exists(grant_id)"
        shared = grant.share_key is not None
        pointer = _item(grant) | {
            "grant_id": pointer_key(grant.owner, grant.video_id, shared=shared),
            "live_grant": grant.grant_id,
        }
        # the pointer is still what the caller read: none, or the grant it replaces
        still: dict[str, Any] = {"ConditionExpression": new}
        if replacing is not None:
            still = {
                "ConditionExpression": "live_grant = :seen",
                "ExpressionAttributeValues": {":seen": replacing.grant_id},
            }
        return _transacted(
            self._table,
            [
                {"Put": {"TableName": name, "Item": _item(grant), "ConditionExpression": new}},
                {"Put": {"TableName": name, "Item": pointer, **still}},
            ],
        )


class DynamoViewCounter:
    """A view: the session remembered in the grants table (`view#{video_id}#{session}`, removed by its TTL) and the
    catalog item's `views` raised, in one transaction conditional on both (a new session, a video not deleted)."""

    def __init__(self, grants_table: Any, catalog_table: str) -> None:
        self._table, self._catalog = grants_table, catalog_table

    def count(self, video_id: str, session: str, *, remember_until: datetime) -> bool:
        remembered = {"grant_id": f"view#{video_id}#{session}", "expires_at": _epoch(remember_until)}
        return _transacted(self._table, [
            {"Put": {"TableName": self._table.name, "Item": remembered,
                     "ConditionExpression": "attribute_not_exists(grant_id)"}},
            {"Update": {"TableName": self._catalog, "Key": {"video_id": video_id},
                        "UpdateExpression": "ADD #views :one",
                        "ConditionExpression": "attribute_exists(#status) AND #status <> :deleted",
                        "ExpressionAttributeNames": {"#views": "views", "#status": "status"},
                        "ExpressionAttributeValues": {":one": 1, ":deleted": "DELETED"}}},
        ])  # fmt: skip
