"""E-mail to uploaders on the local stack: PUT /me through the gateway and the authorizer, the preference
through auth's topic to notify, real uploads to READY and FAILED, and the messages moto's SES kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from devstack.stack import LOCAL_MAIL_SENDER
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.service("notify", "auth", "metadata")


def opt_in(stack: Stack, user: str) -> None:
    """PUT /me with the user's token (sub `sub-{user}`), then wait for notify to keep the preference."""
    answer = requests.put(
        stack.url("/me"),
        json={"email_notifications": True},
        headers={"Authorization": f"Bearer {stack.forge.token(user)}"},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json()["email_notifications"] is True, answer.text
    table = stack.client("dynamodb")
    stack.wait_for(
        f"{user}'s preference in notify",
        lambda: table.get_item(
            TableName=stack.name("notify", "RecipientsTable"), Key={"sub": {"S": f"sub-{user}"}}
        ).get("Item"),
    )


def mail_to(stack: Stack, address: str) -> list[dict[str, str]]:
    sent = requests.get(stack.ready["mailbox"], timeout=10)
    assert sent.status_code == 200, sent.text
    return [m for m in sent.json()["messages"] if m["to"] == [address]]


def test_an_opted_in_uploader_gets_one_mail_per_final_status_and_others_none(
    stack: Stack, small_clip: Path, tmp_path: Path
):
    # Given mail-alice opted in through PUT /me, and mail-bob not; and a tap on the catalog's status changes
    opt_in(stack, "mail-alice")
    changes = stack.tap(stack.name("metadata", "CatalogEventsTopic"), event_types=["VideoStatusChanged"])
    # When each uploads a clip, and mail-alice also a PDF saved as .mp4
    fake = tmp_path / "notes.mp4"
    fake.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n")
    ready = stack.upload(small_clip, "Lake day.mp4", owner="sub-mail-alice")
    failed = stack.upload(fake, "notes.mp4", owner="sub-mail-alice")
    stack.upload(small_clip, "Bob's day.mp4", owner="sub-mail-bob")
    # Then mail-alice gets two messages from the stage's sender: a link to watch one, the reason for the other
    sent = stack.wait_for("two mails to mail-alice", lambda: (m := mail_to(stack, "mail-alice@example.com")) and
                          len(m) == 2 and m)  # fmt: skip
    by_subject = {m["subject"]: m for m in sent}
    assert set(by_subject) == {'"Lake day.mp4" is ready to watch', '"notes.mp4" could not be processed'}
    assert {m["from"] for m in sent} == {LOCAL_MAIL_SENDER}
    assert f"/videos/{ready}\n" in by_subject['"Lake day.mp4" is ready to watch']["text"]
    assert stack.final_item(failed)["failure"]["reason"] in by_subject['"notes.mp4" could not be processed']["text"]

    # And when the READY change is delivered to the mail queue twice more (a redelivery, a replay)
    stack.idle()
    [change] = [c for c in stack.messages(changes) if c["video_id"] == ready and c["status"] == "READY"]
    for _ in range(2):
        stack.sqs.send_message(
            QueueUrl=stack.queue_url(stack.name("notify", "MailQueue")), MessageBody=json.dumps(change)
        )
    stack.idle()
    # Then still two messages to mail-alice, none to mail-bob, and nothing in a DLQ
    assert len(mail_to(stack, "mail-alice@example.com")) == 2
    assert mail_to(stack, "mail-bob@example.com") == []
    assert all(not bodies for bodies in stack.dlq_bodies().values())
