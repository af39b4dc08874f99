"""Create what the services declare on any AWS API endpoint: the local counterpart of CloudFormation.

A function of the declarations only (a `Topology`): the local stack runs it against
moto server, the integration tests against moto's in-process `mock_aws`. Resources
without local behaviour (policies, alarms, IAM roles, log groups) are not in the
topology, so not created.

moto only records a state machine's executions unless told to run them: call
`execute_state_machines` first (before `provision`: moto keeps the state machines of
the two modes apart, so one created before is not found by the running mode). A state
machine is created as moto runs it like AWS (infra/emulator.py names where moto differs).
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from infra.account import ACCOUNT_ID
from infra.emulator import atomic_dynamodb_items, for_moto, keep_task_failure_causes
from infra.topology import Topology

if TYPE_CHECKING:
    import boto3

# CloudFormation's spelling -> the S3 API's
_CORS_API_NAMES = {"MaxAge": "MaxAgeSeconds", "Id": "ID", "ExposedHeaders": "ExposeHeaders"}


def provision(topology: Topology, session: boto3.session.Session, endpoint: str | None) -> None:
    """Create the topics, queues, state machines, tables, subscriptions and buckets, each after what it refers to.

    `endpoint` None: wherever the session's clients go by default (mock_aws in the tests).
    """
    sns = session.client("sns", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    stepfunctions = session.client("stepfunctions", endpoint_url=endpoint)
    for name in topology.topics:
        sns.create_topic(Name=name)
    for queue in topology.queues:  # without redrive first: a DLQ may be declared after its queue
        sqs.create_queue(
            QueueName=queue.name, Attributes={k: v for k, v in queue.attributes.items() if k != "RedrivePolicy"}
        )
    for queue in topology.queues:
        if "RedrivePolicy" in queue.attributes:
            url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": queue.attributes["RedrivePolicy"]})
    for machine in topology.state_machines:  # after the queues and topics its tasks send to
        stepfunctions.create_state_machine(
            name=machine.name,
            definition=for_moto(machine.definition, machine.local_retry_seconds),  # the same flow, as moto runs it
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{machine.name}-role",  # moto does not enforce IAM
            type=machine.type,
        )
    for table in topology.tables:
        ttl = table.get("TimeToLiveSpecification")
        dynamodb.create_table(**{k: v for k, v in table.items() if k != "TimeToLiveSpecification"})
        if ttl:
            dynamodb.update_time_to_live(
                TableName=table["TableName"],
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
            )
    for subscription in topology.subscriptions:
        sns.subscribe(
            TopicArn=subscription.topic_arn,
            Protocol=subscription.protocol,
            Endpoint=subscription.endpoint,
            Attributes=subscription.attributes,
        )
    for bucket in topology.buckets:
        s3.create_bucket(Bucket=bucket.name)
        if bucket.cors_rules:
            rules = [{_CORS_API_NAMES.get(k, k): v for k, v in rule.items()} for rule in bucket.cors_rules]
            s3.put_bucket_cors(Bucket=bucket.name, CORSConfiguration={"CORSRules": rules})
        if bucket.topic_notifications:
            configurations = [
                {
                    "TopicArn": n["Topic"],
                    "Events": [n["Event"]],
                    **({"Filter": {"Key": {"FilterRules": n["Filter"]["S3Key"]["Rules"]}}} if "Filter" in n else {}),
                }
                for n in bucket.topic_notifications
            ]
            s3.put_bucket_notification_configuration(
                Bucket=bucket.name, NotificationConfiguration={"TopicConfigurations": configurations}
            )


EXECUTE_STATE_MACHINES = {"stepfunctions": {"execute_state_machine": True}}


def execute_state_machines(endpoint: str | None) -> None:
    """Make moto run state machine executions (its ASL interpreter) instead of only recording them.

    `endpoint` a moto server: through its /moto-api/config. Its interpreter makes its own SDK
    calls (a task's sqs:sendMessage, sns:publish) to http://localhost:$MOTO_PORT, so for a
    server in this process (ThreadedMotoServer) MOTO_PORT is set to the endpoint's port here.
    `endpoint` None: moto in this process (`mock_aws`), until the `mock_aws` now active ends
    (it restores its configuration); the same as `mock_aws(config=EXECUTE_STATE_MACHINES)`.
    """
    keep_task_failure_causes()  # (a moto server in another process keeps dropping them: infra/emulator.py)
    atomic_dynamodb_items()  # (and shows half-written items)
    if endpoint is None:
        from moto.core.config import default_user_config

        default_user_config["stepfunctions"] = {"execute_state_machine": True}  # replaced, not mutated: see above
        return
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=json.dumps(EXECUTE_STATE_MACHINES).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()  # (its answer leaves stepfunctions out: nothing to check)
    address = urlsplit(endpoint)
    if address.hostname in ("127.0.0.1", "localhost") and address.port:
        os.environ["MOTO_PORT"] = str(address.port)
