"""The local stack is what the services declare: every queue, redrive, subscription, notification and table."""

from __future__ import annotations

import json

import pytest

from infra import ROOT, compose_order, load_yaml
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.service("tools")


def declared(kind: str) -> list[tuple[str, str, dict]]:
    """(service, logical id, raw properties) of each resource of a type, straight from serverless.yml."""
    found = []
    for service, directory in compose_order(ROOT):
        resources = (load_yaml(directory / "serverless.yml").get("resources") or {}).get("Resources", {})
        found += [(service, lid, r.get("Properties", {})) for lid, r in resources.items() if r["Type"] == kind]
    return found


def test_every_declared_queue_exists_with_its_redrive_and_visibility(stack: Stack):
    queues = declared("AWS::SQS::Queue")
    assert len(queues) >= 6
    for service, logical_id, properties in queues:
        url = stack.queue_url(stack.name(service, logical_id))
        attributes = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if "VisibilityTimeout" in properties:
            assert attributes["VisibilityTimeout"] == str(properties["VisibilityTimeout"]), logical_id
        if "RedrivePolicy" in properties:
            redrive = json.loads(attributes["RedrivePolicy"])
            assert redrive["maxReceiveCount"] == properties["RedrivePolicy"]["maxReceiveCount"]
            dlq = properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert redrive["deadLetterTargetArn"].endswith(":" + stack.name(service, dlq))


def test_every_declared_subscription_exists_with_its_attributes(stack: Stack):
    sns = stack.client("sns")
    live = {}
    for subscription in sns.list_subscriptions()["Subscriptions"]:
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
        live[(subscription["TopicArn"], subscription["Endpoint"])] = attributes
    # (e-mail subscriptions have nothing to deliver to locally)
    declared_here = [d for d in declared("AWS::SNS::Subscription") if d[2]["Protocol"] != "email"]
    derived = stack.topology.subscriptions
    assert len(derived) == len(declared_here) >= 5
    for (_, logical_id, properties), subscription in zip(declared_here, derived, strict=True):
        attributes = live.get((subscription.topic_arn, subscription.endpoint))
        assert attributes is not None, f"{logical_id} is not subscribed locally"
        assert attributes.get("RawMessageDelivery") == str(properties.get("RawMessageDelivery", False)).lower()
        if "FilterPolicy" in properties:
            assert json.loads(attributes["FilterPolicy"]) == properties["FilterPolicy"]
        assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith("-dlq")


def test_bucket_notifications_and_tables_match(stack: Stack):
    for service, logical_id, properties in declared("AWS::S3::Bucket"):
        bucket = stack.name(service, logical_id)
        live = stack.s3.get_bucket_notification_configuration(Bucket=bucket).get("TopicConfigurations", [])
        wanted = (properties.get("NotificationConfiguration") or {}).get("TopicConfigurations", [])
        assert [c["Events"] for c in live] == [[w["Event"]] for w in wanted]
    dynamodb = stack.client("dynamodb")
    for service, logical_id, properties in declared("AWS::DynamoDB::Table"):
        table = dynamodb.describe_table(TableName=stack.name(service, logical_id))["Table"]
        assert table["KeySchema"] == properties["KeySchema"]
        live_indexes = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
        assert live_indexes == {i["IndexName"] for i in properties.get("GlobalSecondaryIndexes", [])}


def test_every_declared_function_runs_on_its_queue_or_route(stack: Stack):
    routes = {(r.method, r.path): r for r in stack.topology.routes}
    for service, directory in compose_order(ROOT):
        functions = load_yaml(directory / "serverless.yml").get("functions") or {}
        for name, function in functions.items():
            for event in function.get("events", []):
                if "httpApi" in event:
                    route = routes[(event["httpApi"]["method"], event["httpApi"]["path"])]
                    assert route.function == f"{service}-{name}"
                    assert (route.authorizer is not None) == ("authorizer" in event["httpApi"])
                    continue
                if "websocket" in event:
                    [socket_route] = [
                        r for r in stack.topology.websocket_routes if r.route_key == event["websocket"]["route"]
                    ]
                    assert socket_route.function == f"{service}-{name}"
                    assert (socket_route.authorizer is not None) == ("authorizer" in event["websocket"])
                    continue
                [local] = [f for f in stack.topology.functions if (f.service, f.name) == (service, name)]
                assert local.queue_arn.endswith(":" + stack.name(service, event["sqs"]["arn"]["Fn::GetAtt"][0]))
                assert local.batch_size == event["sqs"]["batchSize"]
                assert local.reports_batch_failures
