"""A test-only repository with a WebSocket API: an auth service whose exported authorizer answers WebSocket
REQUEST events with IAM policies, and a push service declared the way services/notify is (websocket routes
$connect with that authorizer by ARN, $disconnect, $default; a queue-fed notifier that posts to
WEBSOCKET_MANAGEMENT_URL). Its handlers write each event they get to EVENTS_DIR, so tests can read them."""

from __future__ import annotations

import textwrap
from pathlib import Path

COMPOSE = """\
services:
  auth:
    path: services/auth
  push:
    path: services/push
    dependsOn: [auth]
"""

AUTH = """\
service: video24-auth
provider: {name: aws, runtime: python3.12}
functions:
  authorizer:
    handler: fakeguard/handler.handler
resources:
  Outputs:
    AuthorizerFunctionArn:
      Value: !GetAtt AuthorizerLambdaFunction.Arn
      Export:
        Name: ${self:service}-${sls:stage}-AuthorizerFunctionArn
"""

PUSH = """\
service: video24-push
provider:
  name: aws
  runtime: python3.12
  environment:
    EVENTS_DIR: {events}
functions:
  connect:
    handler: fakepush/handlers.connect
    environment: {{CONNECTIONS_TABLE: !Ref ConnectionsTable}}
    events:
      - websocket:
          route: $connect
          authorizer:
            name: auth
            arn: !ImportValue video24-auth-${{sls:stage}}-AuthorizerFunctionArn
            identitySource: [route.request.querystring.token]
  disconnect: {{handler: fakepush/handlers.disconnect, events: [{{websocket: {{route: $disconnect}}}}]}}
  ping: {{handler: fakepush/handlers.ping, events: [{{websocket: {{route: $default}}}}]}}
  notify:
    handler: fakepush/handlers.notify
    environment:
      WEBSOCKET_MANAGEMENT_URL: !Sub https://${{WebsocketsApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/${{sls:stage}}
    events: [{{sqs: {{arn: !GetAtt NotifyQueue.Arn, batchSize: 10, functionResponseType: ReportBatchItemFailures}}}}]
resources:
  Resources:
    ConnectionsTable:
      Type: AWS::DynamoDB::Table
      Properties:
        TableName: ${{self:service}}-${{sls:stage}}-connections
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions: [{{AttributeName: connection_id, AttributeType: S}}]
        KeySchema: [{{AttributeName: connection_id, KeyType: HASH}}]
    NotifyQueue:
      Type: AWS::SQS::Queue
      Properties:
        QueueName: ${{self:service}}-${{sls:stage}}-notify
        VisibilityTimeout: 36
"""

GUARD = '''\
def handler(event, context):
    """Tokens "alice" and "bob" are allowed, "denied" gets a Deny policy, anything else is refused."""
    token = (event.get("queryStringParameters") or {}).get("token")
    if token not in ("alice", "bob", "denied"):
        raise Exception("Unauthorized")
    effect = "Deny" if token == "denied" else "Allow"
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}
    return {"principalId": f"sub-{token}", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": {"sub": f"sub-{token}", "username": token}}
'''

HANDLERS = '''\
import json
import os
import uuid
from pathlib import Path

import boto3


def record(event):
    name = f"{event['requestContext']['connectionId']}.{event['requestContext']['eventType']}.{uuid.uuid4().hex}"
    Path(os.environ["EVENTS_DIR"], name + ".json").write_text(json.dumps(event))


def connect(event, context):
    record(event)
    return {"statusCode": 200}


def disconnect(event, context):
    record(event)
    return {"statusCode": 200}


def ping(event, context):
    authorizer = event["requestContext"]["authorizer"]
    return {"statusCode": 200, "body": json.dumps({"pong": event["body"], "sub": authorizer["sub"]})}


def notify(event, context):
    """Each message: {"connection": id, "data": text}; a gone connection is written down as gone."""
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["WEBSOCKET_MANAGEMENT_URL"])
    for message in event["Records"]:
        push = json.loads(message["body"])
        try:
            client.post_to_connection(ConnectionId=push["connection"], Data=push["data"].encode())
        except client.exceptions.GoneException:
            Path(os.environ["EVENTS_DIR"], push["connection"] + ".GONE.json").write_text("{}")
    return {"batchItemFailures": []}
'''


def write_repo(root: Path, events: Path) -> Path:
    """The repository under `root`; the handlers write the events they get into `events`."""
    files = {
        "serverless-compose.yml": COMPOSE,
        "services/auth/serverless.yml": AUTH,
        "services/auth/fakeguard/__init__.py": "",
        "services/auth/fakeguard/handler.py": GUARD,
        "services/push/serverless.yml": PUSH.format(events=events),
        "services/push/fakepush/__init__.py": "",
        "services/push/fakepush/handlers.py": HANDLERS,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    events.mkdir(parents=True, exist_ok=True)
    return root
