"""The e-mail the local stack's functions sent through SES, read from the stack's own moto.

moto keeps what SES sends in its SES backend. Its `/moto-api/data.json` serialises every service's
models at once and answers 500 when one of them cannot be serialised (S3's, once a bucket's objects
were deleted in the same stack: a mail test failed on it), so the stack reads the SES backend alone,
in its own process (the moto server runs in it), and serves that at MAILBOX_PATH on the local API for
tests and tools outside the process. A deployed stage has no mailbox: SES sends for real there.
"""

from __future__ import annotations

from typing import Any

from infra import ACCOUNT_ID, REGION

MAILBOX_PATH = "/_local/sent-mail.json"  # the local API only: API Gateway has no such path


def sent_mail(region: str = REGION) -> list[dict[str, Any]]:
    """What SES sent so far, oldest first: to, from, subject and text of each message."""
    from moto.ses.models import ses_backends  # moto's documented way to read sent mail (SESBackend.sent_messages)

    messages = list(ses_backends[ACCOUNT_ID][region].sent_messages)
    return [
        {
            "to": list(message.destinations.get("ToAddresses", [])),
            "from": message.source,
            "subject": message.subject,
            "text": message.body,
        }
        for message in messages
        if hasattr(message, "subject")  # a raw message has no parts to show (the functions send simple ones)
    ]
