"""The account and region the declarations are resolved for, and the local stack's fixed identity."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import boto3

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"

# Any key works on moto; these are the ones the local stack, its functions and its tools agree on.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def topic_arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"


def queue_url(name: str) -> str:
    """A queue's URL as AWS gives it (CloudFormation's Ref); moto takes any URL and reads the name from its end."""
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"


def state_machine_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def local_session(region: str = REGION) -> boto3.session.Session:
    """A boto3 session signing with the local stack's credentials."""
    import boto3  # here: reading the declarations needs no SDK

    return boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
