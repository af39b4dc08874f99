"""API Gateway's @connections management API: post a message to one WebSocket, or close it."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from push.logic.ports import ConnectionGone, PostFailed


class ManagementApiSockets:
    def __init__(self, client: Any) -> None:
        self._client = client  # boto3.client("apigatewaymanagementapi", endpoint_url=...)

    def post(self, connection_id: str, data: bytes) -> None:
        self._call(connection_id, self._client.post_to_connection, Data=data)

    def close(self, connection_id: str) -> None:
        self._call(connection_id, self._client.delete_connection)

    @staticmethod
    def _call(connection_id: str, request: Any, **fields: Any) -> None:
        try:
            request(ConnectionId=connection_id, **fields)
        except ClientError as exc:
            error = exc.response.get("Error", {}).get("Code")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if error == "GoneException" or status == 410:
                raise ConnectionGone(connection_id) from None
            raise PostFailed(f"{connection_id}: {error or status}") from exc
        except BotoCoreError as exc:  # the endpoint could not be reached, timed out...
            raise PostFailed(f"{connection_id}: {type(exc).__name__}") from exc
