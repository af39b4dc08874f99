"""The profiles table (DynamoDB): one item per user, keyed by the verified `sub`."""

from __future__ import annotations

from typing import Any

from identity.logic.profiles import Stored


def _stored(item: dict[str, Any]) -> Stored:
    name = item.get("display_name")
    return Stored(
        display_name=name if isinstance(name, str) else None,
        email_notifications=bool(item.get("email_notifications", False)),
        mail_version=int(item.get("mail_version", 0)),
        name_version=int(item.get("name_version", 0)),
    )


class DynamoProfiles:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, sub: str) -> Stored:
        return _stored(self._table.get_item(Key={"sub": sub}).get("Item") or {})

    def update(self, sub: str, *, display_name: str | None, email_notifications: bool | None) -> Stored:
        sets: list[str] = []
        adds: list[str] = []
        values: dict[str, Any] = {}
        if display_name is not None:
            sets.append("display_name = :name")
            adds.append("name_version :one")
            values |= {":name": display_name, ":one": 1}
        if email_notifications is not None:
            sets.append("email_notifications = :mail")
            adds.append("mail_version :one")
            values |= {":mail": email_notifications, ":one": 1}
        expression = "SET " + ", ".join(sets) + " ADD " + ", ".join(adds)
        item = self._table.update_item(
            Key={"sub": sub}, UpdateExpression=expression, ExpressionAttributeValues=values, ReturnValues="ALL_NEW"
        )["Attributes"]
        return _stored(item)
