"""The connections table (DynamoDB): one item per open WebSocket, found by owner through the `by-owner` index."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from push.logic.ports import Connection


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

    def of_owner(self, owner: str, now: datetime) -> list[str]:
        # The TTL deletes an expired item within a day or two, not at once: the filter leaves it out before
        request: dict[str, Any] = {
            "IndexName": self._index,
            "KeyConditionExpression": "#owner = :owner",
            "FilterExpression": "#expires > :now",
            "ExpressionAttributeNames": {"#owner": "owner", "#expires": "expires_at"},
            "ExpressionAttributeValues": {":owner": owner, ":now": int(now.timestamp())},
        }
        found: list[str] = []
        while True:
            page = self._table.query(**request)
            found += [str(item["connection_id"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
