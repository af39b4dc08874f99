"""Publishing domain events to an SNS topic: the one publisher every service uses."""

from __future__ import annotations

from typing import Any

from contracts import AnyVideoEvent
from contracts.delivery import sns_message


class SnsPublisher:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._sns, self._topic_arn = client, topic_arn

    def publish(self, event: AnyVideoEvent) -> None:
        self._sns.publish(TopicArn=self._topic_arn, **sns_message(event))
