"""Mail through SES (the v2 API): plain text from the stage's sender address."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from contracts.readable import Readable
from push.logic.mail import MailRefused

# SES's answers that no retry can change (the address or the account, not the moment)
REFUSALS = {"MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException", "BadRequestException"}


class SesMailer:
    def __init__(self, client: Any, sender: str) -> None:
        self._ses, self._sender = client, sender

    def send(self, to: str, mail: Readable) -> str:
        try:
            answer = self._ses.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": mail.subject, "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": mail.text, "Charset": "UTF-8"}},
                    }
                },
            )
        except ClientError as exc:
            error = exc.response["Error"]
            if error["Code"] in REFUSALS:
                raise MailRefused(f"{error['Code']}: {error.get('Message', '')}") from None
            raise
        return str(answer["MessageId"])
