"""Create what the services declare on any AWS API endpoint: the local counterpart of CloudFormation.

A function of the declarations only (a `Topology`): the local stack runs it against
moto server, the integration tests against moto's in-process `mock_aws`. Resources
without local behaviour (policies, alarms) are not in the topology, so not created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.topology import Topology

if TYPE_CHECKING:
    import boto3

_CORS_API_NAMES = {"MaxAge": "MaxAgeSeconds", "Id": "ID"}  # CloudFormation's spelling -> the S3 API's


def provision(topology: Topology, session: boto3.session.Session, endpoint: str | None) -> None:
    """Create the topics, queues, tables, subscriptions and buckets, each after what it refers to.

    `endpoint` None: wherever the session's clients go by default (mock_aws in the tests).
    """
    sns = session.client("sns", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
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
