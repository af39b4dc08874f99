"""The profiles table (DynamoDB): one item per user, keyed by the verified `sub`."""

from __future__ import annotations

from typing import Any


class DynamoProfiles:
    def __init__(self, table: Any) -> None:
        self._table = table

    def display_name(self, sub: str) -> str | None:
        item = self._table.get_item(Key={"sub": sub}).get("Item") or {}
        name = item.get("display_name")
        return name if isinstance(name, str) else None

    def set_display_name(self, sub: str, name: str) -> None:
        self._table.put_item(Item={"sub": sub, "display_name": name})
