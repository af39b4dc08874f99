"""The connections table (DynamoDB): one item per open WebSocket, found by owner through the `by-owner` index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from push.logic.ports import Connection, Lease


class DynamoConnections:
    def __init__(self, table: Any, index_name: str = "by-owner") -> None:
        self._table, self._index = table, index_name

    def put(self, connection: Connection) -> None:
        self._table.put_item(
            Item={
                "connection_id": connection.connection_id,
                "owner": connection.owner,
                "connected_at": connection.connected_at.isoformat(),
                "expires_at": int(connection.expires_at.timestamp()),  # DynamoDB's TTL removes it then
            }
        )

    def delete(self, connection_id: str) -> None:
        self._table.delete_item(Key={"connection_id": connection_id})

    def of_owner(self, owner: str) -> list[Lease]:
        # Expired items too: the TTL deletes one within a day or two, not at once, and the notifier closes them
        request: dict[str, Any] = {
            "IndexName": self._index,
            "KeyConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":owner": owner},
        }
        found: list[Lease] = []
        while True:
            page = self._table.query(**request)
            found += [_lease(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _lease(item: dict[str, Any]) -> Lease:
    expires_at = int(item.get("expires_at", 0))  # (an item without one was never valid: expired)
    return Lease(str(item["connection_id"]), datetime.fromtimestamp(expires_at, UTC))
