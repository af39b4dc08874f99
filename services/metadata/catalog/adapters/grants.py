"""Playback grants in DynamoDB: one item per grant, removed by the table's TTL after it expires."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from catalog.logic.ports import Grant


class DynamoGrants:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, grant: Grant) -> None:
        self._table.put_item(
            Item={
                "grant_id": grant.grant_id,
                "video_id": grant.video_id,
                "owner": grant.owner,
                "bucket": grant.bucket,
                "prefix": grant.prefix,
                "master": grant.master,
                "expires_at": int(grant.expires_at.timestamp()),  # epoch seconds: what DynamoDB's TTL reads
            }
        )

    def get(self, grant_id: str) -> Grant | None:
        item = self._table.get_item(Key={"grant_id": grant_id}).get("Item")
        if not item:
            return None
        return Grant(
            grant_id=item["grant_id"],
            video_id=item["video_id"],
            owner=item["owner"],
            bucket=item["bucket"],
            prefix=item["prefix"],
            master=item["master"],
            expires_at=datetime.fromtimestamp(int(item["expires_at"]), UTC),
        )
