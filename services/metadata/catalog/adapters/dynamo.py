"""The catalog table (DynamoDB): conditional writes keep status (and progress) moving forward only, and a tombstone
for good."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from catalog.logic.items import VideoItem
from catalog.logic.ports import Rank, Status
from catalog.logic.sharing import LISTED, PUBLIC_PARTITION


def to_dynamo(values: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB wants Decimal, not float."""
    converted: dict[str, Any] = json.loads(json.dumps(values), parse_float=Decimal)
    return converted


def from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def from_item(stored: dict[str, Any]) -> VideoItem:
    """The one way a stored catalog item becomes the logic's: numbers out of Decimal, defaults for what an older
    item lacks."""
    return VideoItem.model_validate(from_dynamo(stored))


def _applied(write: Callable[[], object]) -> bool:
    """Make one conditional write; False (nothing written) when its condition did not hold."""
    try:
        write()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


class _Update:
    """Builds one UpdateExpression with placeholder names and values."""

    def __init__(self) -> None:
        self.sets: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.conditions: list[str] = []
        self.removes: list[str] = []

    def _slot(self, name: str, value: Any) -> tuple[str, str]:
        n = len(self.names)
        self.names[f"#a{n}"] = name
        self.values[f":v{n}"] = value
        return f"#a{n}", f":v{n}"

    def require_not_deleted(self) -> None:
        """Make the write conditional on the item not being a tombstone (nothing brings a deleted video back)."""
        attr, val = self._slot("status", Status.DELETED.value)
        self.conditions.append(f"(attribute_not_exists({attr}) OR {attr} <> {val})")

    def require_item(self) -> None:
        self.conditions.append("attribute_exists(video_id)")

    def require_equal_if_there(self, name: str, value: Any) -> None:
        attr, val = self._slot(name, value)
        self.conditions.append(f"(attribute_not_exists({attr}) OR {attr} = {val})")

    def require_equal(self, name: str, value: Any) -> None:
        attr, val = self._slot(name, value)
        self.conditions.append(f"{attr} = {val}")

    def require(self, name: str) -> None:
        attr = f"#a{len(self.names)}"
        self.names[attr] = name
        self.conditions.append(f"attribute_exists({attr})")

    def remove(self, name: str) -> None:
        attr = f"#a{len(self.names)}"
        self.names[attr] = name
        self.removes.append(attr)

    def set(self, name: str, value: Any) -> None:
        attr, val = self._slot(name, value)
        self.sets.append(f"{attr} = {val}")

    def set_if_missing(self, name: str, value: Any) -> None:
        attr, val = self._slot(name, value)
        self.sets.append(f"{attr} = if_not_exists({attr}, {val})")

    def set_if_greater(self, name: str, value: Any) -> None:
        """Set it, and make the whole write conditional on the stored value being absent or lower."""
        attr, val = self._slot(name, value)
        self.sets.append(f"{attr} = {val}")
        self.conditions.append(f"(attribute_not_exists({attr}) OR {attr} < {val})")

    def set_if_at_most(self, name: str, value: Any) -> None:
        """Set it, and make the whole write conditional on the stored value being absent, lower or equal."""
        attr, val = self._slot(name, value)
        self.sets.append(f"{attr} = {val}")
        self.conditions.append(f"(attribute_not_exists({attr}) OR {attr} <= {val})")

    def request(self) -> dict[str, Any]:
        expression = "SET " + ", ".join(self.sets) + (" REMOVE " + ", ".join(self.removes) if self.removes else "")
        request = {
            "UpdateExpression": expression,
            "ExpressionAttributeNames": self.names,
            "ExpressionAttributeValues": to_dynamo(self.values),
        }
        if self.conditions:
            request["ConditionExpression"] = " AND ".join(self.conditions)
        return request


class DynamoCatalog:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, video_id: str) -> VideoItem | None:
        item = self._table.get_item(Key={"video_id": video_id}, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def note_upload(
        self,
        video_id: str,
        first_values: dict[str, Any],
        *,
        latest: dict[str, Any] | None = None,
        sequence: str | None = None,
    ) -> bool:
        update = _Update()
        for name, value in first_values.items():
            update.set_if_missing(name, value)
        update.set_if_missing("status", Status.UPLOADED.value)
        update.set_if_missing("status_rank", int(Rank.UPLOADED))
        for name, value in (latest or {}).items():
            update.set(name, value)
        if sequence is not None:
            update.set_if_greater("upload_sequence", sequence)
        update.require_not_deleted()
        return self._write(video_id, update)  # False: a later write of the key is recorded, or it was deleted

    def _write(self, video_id: str, update: _Update) -> bool:
        """One UpdateItem; False when its condition did not hold."""
        return _applied(lambda: self._table.update_item(Key={"video_id": video_id}, **update.request()))

    def advance(self, video_id: str, status: Status, values: dict[str, Any], first_values: dict[str, Any]) -> bool:
        update = _Update()
        for name, value in values.items():
            update.set(name, value)
        for name, value in first_values.items():
            update.set_if_missing(name, value)
        update.set("status", status.value)
        update.set_if_greater("status_rank", int(Rank[status.name]))  # a tombstone's rank is above every status
        return self._write(video_id, update)

    def note_progress(
        self,
        video_id: str,
        progress: float,
        values: dict[str, Any],
        first_values: dict[str, Any],
        *,
        measure: str = "progress",
    ) -> bool:
        update = _Update()
        for name, value in values.items():
            update.set(name, value)
        for name, value in first_values.items():
            update.set_if_missing(name, value)
        update.set_if_greater(measure, progress)  # a late or repeated progress event never lowers it
        update.set("status", Status.PROCESSING.value)
        update.set_if_at_most("status_rank", int(Rank.PROCESSING))  # never FAILED, READY or a tombstone
        return self._write(video_id, update)

    def set_values(self, video_id: str, values: dict[str, Any]) -> bool:
        update = _Update()
        for name, value in values.items():
            update.set(name, value)
        update.require_item()
        update.require_not_deleted()
        return self._write(video_id, update)

    def name(self, video_id: str, owner: str, title: str, rank: int) -> bool:
        update = _Update()
        update.set_if_greater("title_rank", rank)  # never over the owner's own title
        update.set("title", title)
        update.set_if_missing("owner", owner)
        update.require_equal_if_there("owner", owner)
        update.require_not_deleted()
        return self._write(video_id, update)

    def share(
        self, video_id: str, owner: str, values: dict[str, Any], *, first_values: dict[str, Any], remove: list[str]
    ) -> bool:
        update = _Update()
        for name, value in values.items():
            update.set(name, value)
        for name, value in first_values.items():
            update.set_if_missing(name, value)
        for name in remove:
            update.remove(name)
        update.require("status")  # (a bare item, titled before its upload arrived, is no video yet)
        update.require_equal("owner", owner)
        update.require_not_deleted()
        return self._write(video_id, update)

    def bury(self, video_id: str, owner: str, *, deleted_at: datetime, expires_at: datetime) -> bool:
        # The whole item is replaced: no created_at, so the tombstone is not in the by-owner index.
        tombstone = {
            "video_id": video_id,
            "owner": owner,
            "status": Status.DELETED.value,
            "status_rank": int(Rank.DELETED),
            "deleted_at": deleted_at.isoformat(),
            "expires_at": int(expires_at.timestamp()),  # DynamoDB's TTL removes it after the DLQ retention
        }
        return _applied(
            lambda: self._table.put_item(
                Item=tombstone,
                ConditionExpression="#owner = :owner AND #status <> :deleted",
                ExpressionAttributeNames={"#owner": "owner", "#status": "status"},
                ExpressionAttributeValues={":owner": owner, ":deleted": Status.DELETED.value},
            )
        )


def _index_page(
    table: Any, index: str, partition: str, value: str, limit: int, start: dict[str, Any] | None
) -> tuple[list[VideoItem], dict[str, Any] | None]:
    """A page of one partition of a catalog index, newest first, and the key to start the next one from."""
    request: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": "#partition = :value",
        "ExpressionAttributeNames": {"#partition": partition},
        "ExpressionAttributeValues": {":value": value},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start:
        request["ExclusiveStartKey"] = start
    found = table.query(**request)
    return [from_item(item) for item in found.get("Items", [])], found.get("LastEvaluatedKey")


class OwnerIndexQuery:
    """The catalog's `by-owner` index: a user's videos, newest first."""

    def __init__(self, table: Any, index_name: str = "by-owner") -> None:
        self._table, self._index = table, index_name

    def page(
        self, owner: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[VideoItem], dict[str, Any] | None]:
        return _index_page(self._table, self._index, "owner", owner, limit, start)


class PublicIndexQuery:
    """The catalog's sparse `public` index: the items with `listed` (the public videos), newest first."""

    def __init__(self, table: Any, index_name: str = "public") -> None:
        self._table, self._index = table, index_name

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[VideoItem], dict[str, Any] | None]:
        return _index_page(self._table, self._index, LISTED, PUBLIC_PARTITION, limit, start)


class DynamoOwnerNames:
    """The owners table: the display name each owner chose, kept by version (a late event never undoes a newer)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def names(self, subs: set[str]) -> dict[str, str]:
        if not subs:
            return {}
        keys = [{"sub": sub} for sub in sorted(subs)]
        found: dict[str, str] = {}
        for start in range(0, len(keys), 100):  # BatchGetItem takes 100 keys a request
            request = {self._table.name: {"Keys": keys[start : start + 100], "ProjectionExpression": "#s, display_name",
                                          "ExpressionAttributeNames": {"#s": "sub"}}}  # fmt: skip
            while request:
                answer = self._table.meta.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table.name, []):
                    if isinstance(item.get("display_name"), str):
                        found[item["sub"]] = item["display_name"]
                request = answer.get("UnprocessedKeys") or {}
        return found

    def remember(self, sub: str, name: str | None, version: int) -> bool:
        update = _Update()
        update.set_if_greater("name_version", version)
        update.set("display_name", name)
        return _applied(lambda: self._table.update_item(Key={"sub": sub}, **update.request()))
