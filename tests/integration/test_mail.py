"""E-mail to uploaders, against moto: PUT /me's preference published by the auth service and kept by notify,
the catalog's final statuses reaching the mail queue through its message-body filter, SES's sent messages,
once per final status whatever is delivered twice, and nothing for users who did not opt in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from contracts import FailureReason, VideoStatus, VideoStatusChanged, status_sequence
from contracts.delivery import sns_message
from contracts.readable import UNKNOWN_FAILURE, failure_sentence
from infra.event_source import EventSourceMapping
from lambdakit.metrics import MAILS_SENT
from tests.emf import emitted, values
from tests.integration.api import answer, api_event
from tests.integration.conftest import TEST_PARAMS, Aws, Context, sqs_event, use_function_env
from tests.integration.pipeline import DownloadingProber, catalog_handlers, s3_upload_event
from tests.unit import shapes

pytestmark = pytest.mark.service("notify", "auth", "metadata")

SENDER = TEST_PARAMS["mailSender"]


@pytest.fixture
def mail(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The auth and notify functions' environment, the sender verified in SES; yields SES's sent messages."""
    functions = [aws.function(f"notify-{name}") for name in ("mail", "preferences")]
    use_function_env(monkeypatch, aws.topology.invocables["auth-putMe"], aws.topology.invocables["auth-getMe"],
                     *functions, AWS_LAMBDA_FUNCTION_NAME="video24-notify-test-mail")  # fmt: skip
    aws.client("sesv2").create_email_identity(EmailIdentity=SENDER)
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    backend.sent_messages.clear()
    yield backend.sent_messages


@pytest.fixture
def catalog(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    yield from catalog_handlers(aws, monkeypatch, DownloadingProber(aws.client("s3"), tmp_path))


def put_me(sub: str, body: dict[str, Any], *, email: str | None = "") -> tuple[int, Any]:
    from identity.handlers import me

    event = api_event("PUT", "/me", sub=sub, body=body)
    if email != "":  # "" : the address api_event gives ({sub}@example.com)
        event["requestContext"]["authorizer"]["lambda"]["email"] = email
    return answer(me.put_handler(event, Context()))


def get_me(sub: str) -> dict[str, Any]:
    from identity.handlers import me

    return answer(me.get_handler(api_event("GET", "/me", sub=sub), Context()))[1]


def consumer(aws: Aws, function: str) -> EventSourceMapping:
    from push.handlers import mail, preferences

    handler = {"notify-mail": mail.handler, "notify-preferences": preferences.handler}[function]
    return EventSourceMapping(aws.client("sqs"), aws.function(function), handler, retry_delay=0)


def run(*mappings: EventSourceMapping) -> list[dict[str, int]]:
    polls = []
    for mapping in mappings:
        while (poll := mapping.poll(wait_seconds=0)) is not None:
            polls.append(poll)
    return polls


def final_change(video_id: str, owner: str, status: VideoStatus, *, title: str = "Holiday.mp4") -> VideoStatusChanged:
    rank = {VideoStatus.READY: 3, VideoStatus.FAILED: 3}[status]
    return VideoStatusChanged(
        correlation_id="c", video_id=video_id, owner=owner, status=status, rank=rank, progress=None, title=title,
        reason="the file has no video stream" if status == VideoStatus.FAILED else None,
        sequence=status_sequence(rank, None),
    )  # fmt: skip


def announce(aws: Aws, change: VideoStatusChanged) -> None:
    """Publish on catalog-events as the catalog does."""
    aws.client("sns").publish(TopicArn=aws.name("metadata", "CatalogEventsTopic"), **sns_message(change))


def mail_of(message: Any) -> dict[str, Any]:
    return {"to": message.destinations["ToAddresses"], "from": message.source, "subject": message.subject,
            "body": message.body}  # fmt: skip


def test_put_me_keeps_the_preference_and_tells_notify_which_keeps_the_verified_address(aws: Aws, mail):
    # When alice turns e-mail on
    status, profile = put_me("alice", {"email_notifications": True})
    # Then her profile says so, now and on GET /me, with her display name untouched
    assert status == 200 and profile["email_notifications"] is True and profile["display_name"] is None
    assert get_me("alice")["email_notifications"] is True
    # And once notify's preferences consumer ran, it knows where to write to
    run(consumer(aws, "notify-preferences"))
    item = aws.client("dynamodb").get_item(
        TableName=aws.name("notify", "RecipientsTable"), Key={"sub": {"S": "alice"}}
    )["Item"]
    assert (item["email"]["S"], item["enabled"]["BOOL"], int(item["version"]["N"])) == ("alice@example.com", True, 1)
    # And a rename alone publishes nothing and keeps the preference
    assert put_me("alice", {"display_name": "Alice"})[1]["email_notifications"] is True
    assert aws.drain(aws.queue_url(aws.name("notify", "PreferencesQueue"))) == []


def test_a_sign_in_without_a_verified_address_cannot_turn_mail_on(aws: Aws, mail):
    # When a user whose token gave no (verified) address asks for mail, or sends an empty change
    status, body = put_me("carol", {"email_notifications": True}, email=None)
    # Then it is refused in words, and nothing is stored or published
    assert status == 400 and "e-mail address" in body["message"]
    assert put_me("carol", {})[0] == 400
    assert get_me("carol")["email_notifications"] is False
    assert aws.drain(aws.queue_url(aws.name("notify", "PreferencesQueue"))) == []
    # But turning it off needs no address
    assert put_me("carol", {"email_notifications": False}, email=None)[0] == 200


def test_opted_in_owners_get_one_mail_per_final_status_and_others_none(
    aws: Aws, catalog, mail, capsys: pytest.CaptureFixture[str]
):
    # Given alice opted in, and bob not
    put_me("alice", {"email_notifications": True})
    run(consumer(aws, "notify-preferences"))
    # When alice's and bob's videos go through the catalog to FAILED (every event delivered twice)
    videos = {}
    for owner in ("alice", "bob"):
        videos[owner] = video_id = uuid.uuid4().hex
        body = s3_upload_event(aws, f"uploads/{owner}/{video_id}/{owner}'s clip.mp4")
        for _ in range(2):
            catalog.on_upload(sqs_event(body), Context())
            catalog.on_video_event(sqs_event(shapes.progress(video_id, 1, 2, owner=owner).model_dump_json()), Context())
            catalog.on_video_event(sqs_event(shapes.failed(video_id).model_dump_json()), Context())
    # And another video of alice's is READY, its change published three times (a redelivery, a replay)
    ready = final_change(uuid.uuid4().hex, "alice", VideoStatus.READY, title='Lake "Tahoe"\nday 2')
    for _ in range(3):
        announce(aws, ready)
    emitted(capsys)  # (what the catalog and the preferences printed so far)
    polls = run(consumer(aws, "notify-mail"))
    # (the mail function counted each message it sent, once, by status: a duplicate is not counted again)
    assert sorted(d["status"] for _, d in values(emitted(capsys), MAILS_SENT)) == ["FAILED", "READY"]

    # Then only the final statuses reached the mail queue (no upload, no progress), and none failed
    assert sum(p["batch"] for p in polls) == 2 + 3 and sum(p["failed"] for p in polls) == 0
    # And alice got exactly two messages: why her clip failed, and a link to the ready one; bob none
    sent = sorted((mail_of(m) for m in mail), key=lambda m: "ready" in m["subject"])
    assert [m["to"] for m in sent] == [["alice@example.com"]] * 2 and {m["from"] for m in sent} == {SENDER}
    failed, done = sent
    assert failed["subject"] == '"alice\'s clip.mp4" could not be processed'
    assert failure_sentence(FailureReason.NO_VIDEO_STREAM) in failed["body"]
    assert done["subject"] == '"Lake "Tahoe" day 2" is ready to watch'  # one line, whatever the title holds
    assert f"https://videos.example.test/videos/{ready.video_id}" in done["body"]
    assert "https://videos.example.test/profile" in done["body"]


def test_a_failure_is_mailed_as_a_sentence_never_as_ffmpegs_words(aws: Aws, catalog, mail):
    # Given alice opted in
    put_me("alice", {"email_notifications": True})
    run(consumer(aws, "notify-preferences"))
    # When one of her videos fails with a VideoTranscodeFailed whose reason is ffmpeg's text (sent before reasons
    # were sentences), and a FAILED change of another video, published before then with that text, is redriven
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/clip.mp4")), Context())
    failed = shapes.failed(video_id, reason=shapes.FFMPEG_WORDS)
    catalog.on_video_event(sqs_event(failed.model_dump_json()), Context())
    redriven = final_change(uuid.uuid4().hex, "alice", VideoStatus.FAILED, title="old.mp4")
    announce(aws, redriven.model_copy(update={"reason": shapes.FFMPEG_WORDS}))
    run(consumer(aws, "notify-mail"))

    # Then the mail about her clip gives the sentence of its code, the one about the older video a general one
    bodies = {m["subject"]: m["body"] for m in map(mail_of, mail)}
    assert failure_sentence(FailureReason.NO_VIDEO_STREAM) in bodies['"clip.mp4" could not be processed']
    assert UNKNOWN_FAILURE in bodies['"old.mp4" could not be processed']
    # And neither has any of ffmpeg's words
    assert [mark for mark in ("0x", "@", "[", "whitelist") if mark in "".join(bodies.values())] == []


def test_turning_mail_off_stops_it_and_a_late_older_preference_does_not_turn_it_back_on(aws: Aws, mail):
    # Given alice turned mail on, then off, and the two events reach notify in the wrong order
    put_me("alice", {"email_notifications": True})
    [on] = aws.drain(aws.queue_url(aws.name("notify", "PreferencesQueue")))
    put_me("alice", {"email_notifications": False})
    run(consumer(aws, "notify-preferences"))
    from push.handlers import preferences

    preferences.handler(sqs_event(__import__("json").dumps(on)), Context())
    # When a video of hers is READY
    announce(aws, final_change(uuid.uuid4().hex, "alice", VideoStatus.READY))
    run(consumer(aws, "notify-mail"))
    # Then no mail is sent: the newer "off" (version 2) stands
    assert mail == []


def test_a_mail_that_fails_is_retried_and_sent_once_and_a_refused_one_is_not_retried(
    aws: Aws, mail, monkeypatch: pytest.MonkeyPatch
):
    # Given alice opted in, and SES failing the first send (throttled)
    put_me("alice", {"email_notifications": True})
    run(consumer(aws, "notify-preferences"))
    ses = deps_ses_client(monkeypatch, failures=["TooManyRequestsException"])
    # When her video is READY
    video_id = uuid.uuid4().hex
    announce(aws, final_change(video_id, "alice", VideoStatus.READY))
    polls = run(consumer(aws, "notify-mail"))
    # Then the first try failed, the retry sent it: one message
    assert [p["failed"] for p in polls] == [1, 0] and len(mail) == 1 and ses.calls == 2
    # And when SES refuses the address for good, the change is not retried (and not dead-lettered)
    ses.failures = ["MessageRejected"]
    announce(aws, final_change(uuid.uuid4().hex, "alice", VideoStatus.FAILED))
    polls = run(consumer(aws, "notify-mail"))
    assert sum(p["failed"] for p in polls) == 0 and len(mail) == 1
    assert aws.drain(aws.queue_url(aws.name("notify", "MailDLQ"))) == []


class FlakySes:
    """The real sesv2 client, failing the next calls with these error codes first."""

    def __init__(self, client: Any, failures: list[str]) -> None:
        self.client, self.failures, self.calls = client, failures, 0

    def send_email(self, **params: Any) -> Any:
        self.calls += 1
        if self.failures:
            code = self.failures.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": code}}, "SendEmail")
        return self.client.send_email(**params)


def deps_ses_client(monkeypatch: pytest.MonkeyPatch, *, failures: list[str]) -> FlakySes:
    """The mail function's SES client, failing first with these error codes (behind the real adapter)."""
    import boto3

    from push import deps
    from push.adapters.mailer import SesMailer

    flaky = FlakySes(boto3.client("sesv2"), failures)
    monkeypatch.setattr(deps.mail_deps(), "mailer", SesMailer(flaky, SENDER))
    return flaky
