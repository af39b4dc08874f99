"""At most one run per key, across duplicate deliveries: Powertools Idempotency with its DynamoDB record.

The record is INPROGRESS while the action runs (until the function's own timeout, should it crash), then
COMPLETED with the action's result: a duplicate gets that result without running the action. An action that
raises leaves no record, so the retry runs it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel


class Once:
    def __init__(
        self, action: Callable[[Any], dict[str, Any]], *, table_name: str, key: str, keep_seconds: int, client: Any
    ) -> None:
        self.config = IdempotencyConfig(
            event_key_jmespath=key, raise_on_no_idempotency_key=True, expires_after_seconds=keep_seconds
        )
        store = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)

        @idempotent_function(data_keyword_argument="data", persistence_store=store, config=self.config)
        def run_once(data: BaseModel) -> dict[str, Any]:
            return action(data)

        self._run = run_once

    def __call__(self, data: BaseModel, context: LambdaContext | None) -> dict[str, Any]:
        if context is not None:  # the INPROGRESS record then lapses when this invocation would have timed out
            self.config.register_lambda_context(context)
        result: dict[str, Any] = self._run(data=data)
        return result
