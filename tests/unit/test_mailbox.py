"""The local stack's mailbox (devstack/mailbox.py): what SES sent, read from moto's SES backend alone."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from devstack.mailbox import sent_mail
from infra import LOCAL_CREDENTIALS, REGION

pytestmark = pytest.mark.service("tools")


def test_sent_mail_is_read_whatever_state_the_other_services_are_in(monkeypatch: pytest.MonkeyPatch):
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        # Given a bucket whose objects were deleted (moto's /moto-api/data.json answered 500 after that)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="gone")
        s3.put_object(Bucket="gone", Key="a", Body=b"x")
        s3.delete_object(Bucket="gone", Key="a")
        # When the notifier sends its mail through SES v2
        ses = boto3.client("sesv2", region_name=REGION)
        ses.create_email_identity(EmailIdentity="videos@24hour-video.local")
        ses.send_email(
            FromEmailAddress="videos@24hour-video.local",
            Destination={"ToAddresses": ["alice@example.com"]},
            Content={"Simple": {"Subject": {"Data": "Ready"}, "Body": {"Text": {"Data": "Watch it"}}}},
        )
        # Then the mailbox has it, and only it
        assert sent_mail() == [
            {"to": ["alice@example.com"], "from": "videos@24hour-video.local", "subject": "Ready", "text": "Watch it"}
        ]
