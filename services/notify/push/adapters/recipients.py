"""The recipients table (DynamoDB): who wants e-mail about their videos, and where, keyed by the user's `sub`."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from push.logic.mail import Recipient


class DynamoRecipients:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, sub: str) -> Recipient | None:
        item = self._table.get_item(Key={"sub": sub}).get("Item")
        if not item:
            return None
        email = item.get("email")
        return Recipient(sub, email if isinstance(email, str) else None, bool(item["enabled"]), int(item["version"]))

    def apply(self, recipient: Recipient) -> bool:
        item: dict[str, Any] = {"sub": recipient.sub, "enabled": recipient.enabled, "version": recipient.version}
        if recipient.email:
            item["email"] = recipient.email
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(#sub) OR #version < :version",
                ExpressionAttributeNames={"#sub": "sub", "#version": "version"},
                ExpressionAttributeValues={":version": recipient.version},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
