"""The media tasks' staleness check: a token refused for good is stale, a token moto has not armed yet is not."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from transcode.adapters.aws import TaskCallbacks

pytestmark = pytest.mark.service("transcode")


class Heartbeats:
    """A Step Functions client whose SendTaskHeartbeat answers with these error codes, then succeeds."""

    def __init__(self, *codes: str) -> None:
        self.codes, self.calls = list(codes), 0

    def send_task_heartbeat(self, taskToken: str) -> None:
        self.calls += 1
        if self.codes:
            code = self.codes.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": code}}, "SendTaskHeartbeat")


def test_a_token_refused_for_a_moment_after_its_message_was_sent_is_alive():
    # (moto's interpreter arms the heartbeat only after it has sent the task message)
    client = Heartbeats("InvalidToken", "InvalidToken")
    assert TaskCallbacks(client, settle_seconds=1).alive("t") is True
    assert client.calls == 3


@pytest.mark.parametrize("codes", [("TaskTimedOut",), ("TaskDoesNotExist",), ("InvalidToken",) * 1000])
def test_a_token_that_is_over_is_stale(codes: tuple[str, ...]):
    client = Heartbeats(*codes)
    assert TaskCallbacks(client, settle_seconds=0.2).alive("t") is False
    assert client.calls == 1 or codes[0] == "InvalidToken"


def test_another_error_is_raised():
    with pytest.raises(ClientError):
        TaskCallbacks(Heartbeats("ThrottlingException")).alive("t")
