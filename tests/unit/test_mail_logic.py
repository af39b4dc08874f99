"""Mail to uploaders and to the operator, as pure logic: who is written to, what the message says, and how it is
published so that e-mail subscribers read words and every other subscriber the same JSON as ever."""

from __future__ import annotations

import json

import pytest

from contracts import FailureReason, MailPreferenceChanged, VideoReady, VideoStatus, VideoStatusChanged, status_sequence
from contracts.delivery import message_for, published_event, sns_message
from contracts.readable import (
    UNKNOWN_FAILURE,
    Readable,
    duration_words,
    failure_sentence,
    one_line,
    operator_message,
)
from push.logic.mail import MailDeps, MailRefused, Recipient, compose, is_final, remember, tell_owner
from tests.unit.fakes import FakeMeter
from tests.unit.shapes import FFMPEG_WORDS, TOOL_WORDS

pytestmark = pytest.mark.service("notify", "shared")

VIDEO = "0123456789abcdef0123456789abcdef"


def change(status: VideoStatus, *, owner: str | None = "alice", title: str | None = "Holiday.mp4",
           reason: str | None = None, progress: float | None = None) -> VideoStatusChanged:  # fmt: skip
    rank = {VideoStatus.UPLOADED: 1, VideoStatus.PROCESSING: 2, VideoStatus.READY: 3, VideoStatus.FAILED: 3,
            VideoStatus.DELETED: 9}[status]  # fmt: skip
    return VideoStatusChanged(correlation_id="c", video_id=VIDEO, owner=owner, status=status, rank=rank,
                              progress=progress, reason=reason, title=title,
                              sequence=status_sequence(rank, progress))  # fmt: skip


class MemoryRecipients:
    def __init__(self, *recipients: Recipient) -> None:
        self.kept = {r.sub: r for r in recipients}

    def get(self, sub: str) -> Recipient | None:
        return self.kept.get(sub)

    def apply(self, recipient: Recipient) -> bool:
        if (old := self.kept.get(recipient.sub)) and old.version >= recipient.version:
            return False
        self.kept[recipient.sub] = recipient
        return True


class Outbox:
    def __init__(self, refuse: bool = False) -> None:
        self.sent: list[tuple[str, Readable]] = []
        self.refuse = refuse

    def send(self, to: str, mail: Readable) -> str:
        if self.refuse:
            raise MailRefused("MessageRejected: address is on the suppression list")
        self.sent.append((to, mail))
        return f"m{len(self.sent)}"


def deps(*recipients: Recipient, refuse: bool = False, website: str = "https://videos.example.com/") -> MailDeps:
    return MailDeps(recipients=MemoryRecipients(*recipients), mailer=Outbox(refuse), website_url=website)


ALICE = Recipient("alice", "alice@example.com", True, 1)


def test_only_ready_and_failed_of_an_owned_video_are_final():
    finals = [s for s in VideoStatus if is_final(change(s, progress=0.5 if s == VideoStatus.PROCESSING else None))]
    assert finals == [VideoStatus.READY, VideoStatus.FAILED]
    assert not is_final(change(VideoStatus.READY, owner=None))


def test_a_ready_mail_links_to_the_watch_page_and_names_the_video_on_one_subject_line():
    mail = compose(change(VideoStatus.READY, title="Lake\r\nTahoe\x00 " + "x" * 200), "https://videos.example.com/")
    assert mail.subject.startswith('"Lake Tahoe xxx') and mail.subject.endswith('…" is ready to watch')
    assert "\n" not in mail.subject and len(mail.subject) <= 99
    assert f"https://videos.example.com/videos/{VIDEO}\n" in mail.text
    assert "turned it on in https://videos.example.com/profile" in mail.text


def test_a_failed_mail_gives_the_reason_in_words_and_no_link():
    # Given a FAILED change whose reason is the sentence of its code
    sentence = failure_sentence(FailureReason.NO_VIDEO_STREAM)
    # When its mail is written
    mail = compose(change(VideoStatus.FAILED, reason=sentence), "https://v.example.com")
    # Then it gives that sentence, and no link
    assert mail.subject == '"Holiday.mp4" could not be processed'
    assert f"  {sentence}\n" in mail.text and "/videos/" not in mail.text
    # And with no website configured, no link anywhere
    assert "http" not in compose(change(VideoStatus.READY), "").text


@pytest.mark.parametrize("reason", [FFMPEG_WORDS, None], ids=["ffmpeg's words", "no reason"])
def test_a_failed_change_older_than_the_sentences_is_mailed_in_words(reason: str | None):
    # Given a FAILED change published before reasons were sentences (waiting in a DLQ): ffmpeg's text, or none
    # When its mail is written
    mail = compose(change(VideoStatus.FAILED, reason=reason), "https://v.example.com")
    # Then it says the video could not be made, in words, and none of the tool's
    assert f"  {UNKNOWN_FAILURE}\n" in mail.text
    assert [word for word in TOOL_WORDS if word in mail.text] == []


def test_the_owner_is_mailed_only_when_opted_in_with_an_address():
    for recipients, mailed in (((ALICE,), True), ((), False), ((Recipient("alice", "a@x.com", False, 2),), False),
                               ((Recipient("alice", None, True, 1),), False)):  # fmt: skip
        wiring = deps(*recipients)
        outcome = tell_owner(change(VideoStatus.READY), wiring)
        assert outcome.mailed is mailed and len(wiring.mailer.sent) == int(mailed)  # type: ignore[attr-defined]
    wiring = deps(ALICE)
    tell_owner(change(VideoStatus.READY, owner="bob"), wiring)
    assert wiring.mailer.sent == []  # type: ignore[attr-defined]


def test_a_refused_mail_is_an_outcome_not_an_error():
    wiring = deps(ALICE, refuse=True)
    wiring.meter = meter = FakeMeter()
    outcome = tell_owner(change(VideoStatus.READY), wiring)
    assert not outcome.mailed and "suppression list" in outcome.detail
    assert meter.recorded == []  # only a mail sent counts


def test_a_sent_mail_is_counted_by_status():
    wiring = deps(ALICE)
    wiring.meter = meter = FakeMeter()
    tell_owner(change(VideoStatus.FAILED, reason="no video stream"), wiring)
    tell_owner(change(VideoStatus.READY, owner="bob"), wiring)  # not opted in: nothing sent, nothing counted
    assert meter.recorded == [("MailsSent", 1, {"status": "FAILED"})]


def test_a_preference_is_kept_by_version_and_needs_an_address():
    recipients = MemoryRecipients()
    on = MailPreferenceChanged(correlation_id="c", sub="alice", email="alice@example.com", enabled=True, version=1)
    off = on.model_copy(update={"enabled": False, "version": 2})
    assert remember(off, recipients) and not remember(on, recipients)  # the late "on" does not undo the "off"
    assert recipients.kept["alice"].enabled is False
    no_address = on.model_copy(update={"email": None, "version": 3})
    assert remember(no_address, recipients) and recipients.kept["alice"].enabled is False


def test_the_operator_reads_a_ready_video_as_a_subject_and_text_and_queues_get_the_json():
    ready = VideoReady(correlation_id="c9", video_id=VIDEO, owner="alice", title="Trip\nto Rome",
                       duration_seconds=3725.4, renditions=["1080p", "720p"])  # fmt: skip
    publish = sns_message(ready)
    # SNS gives e-mail subscribers the "email" text with the subject; queues the "default": the event's JSON
    assert publish["MessageStructure"] == "json" and publish["Subject"] == '24-Hour Video: "Trip to Rome" is ready'
    assert set(json.loads(publish["Message"])) == {"default", "email"}
    assert published_event(publish) == json.loads(ready.model_dump_json())
    assert message_for(publish, "sqs") == ready.model_dump_json()
    text = message_for(publish, "email")
    assert "Duration:    1 h 2 min 5 s" in text and "Renditions:  1080p, 720p" in text and VIDEO in text
    assert "{" not in text  # no JSON in the operator's mail
    # And an event with nothing to read in words is published as its JSON alone, as before
    status = change(VideoStatus.READY)
    assert operator_message(status) is None and sns_message(status)["Message"] == status.model_dump_json()


def test_subject_lines_and_durations_read_well():
    assert one_line("a\tb\n\nc  d") == "a b c d" and one_line("x" * 120, 10) == "x" * 9 + "…"
    assert [duration_words(s) for s in (None, 0, 59.6, 61, 3600)] == ["unknown", "0 s", "1 min", "1 min 1 s", "1 h"]
