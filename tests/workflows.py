"""A one-service repository that declares a Step Functions workflow the way a service does (for infra's tests).

It keeps every rule of tests/infra/workflow_rules.py, and `serverless package` (osls) packages it as it is
(tests/infra/test_rules.py checks that, and cfn-lint, on the packaged template): a model to copy.

The service `flow` has a task queue with a DLQ, a topic, a worker function fed by the queue, a starter
function, and a Standard state machine: a waitForTaskToken task (`Plan`), then a Map of its `chunks`
over waitForTaskToken tasks (`Encode`, MaxConcurrency from a param), each sending its token to the queue.
"""

from __future__ import annotations

from pathlib import Path

COMPOSE = """\
services:
  flow:
    path: services/flow
"""

SERVICE = """\
service: video24-flow
provider:
  name: aws
  runtime: python3.12
params:
  default:
    chunkConcurrency: 2
functions:
  worker:
    handler: flow/handlers/worker.handler
    timeout: 10
    environment:
      WORKFLOW_ARN: !Ref FlowWorkflow
      WORKFLOW_NAME: !GetAtt FlowWorkflow.Name
    events:
      - sqs:
          arn: !GetAtt FlowTasksQueue.Arn
          batchSize: 1
          functionResponseType: ReportBatchItemFailures
  starter:
    handler: flow/handlers/starter.handler
    environment:
      WORKFLOW_ARN: !Ref FlowWorkflow
resources:
  Resources:
    FlowTasksDLQ:
      Type: AWS::SQS::Queue
      Properties:
        QueueName: ${self:service}-${sls:stage}-tasks-dlq
        MessageRetentionPeriod: 1209600
    FlowTasksQueue:
      Type: AWS::SQS::Queue
      Properties:
        QueueName: ${self:service}-${sls:stage}-tasks
        VisibilityTimeout: 60
        RedrivePolicy:
          deadLetterTargetArn: !GetAtt FlowTasksDLQ.Arn
          maxReceiveCount: 5
    FlowEventsTopic:
      Type: AWS::SNS::Topic
      Properties:
        TopicName: ${self:service}-${sls:stage}-events
    FlowWorkflowLogGroup:
      Type: AWS::Logs::LogGroup
      Properties:
        RetentionInDays: 14
    FlowWorkflowRole:
      Type: AWS::IAM::Role
      Properties:
        AssumeRolePolicyDocument:
          Version: '2012-10-17'
          Statement:
            - Effect: Allow
              Principal: { Service: states.amazonaws.com }
              Action: sts:AssumeRole
        Policies:
          - PolicyName: workflow
            PolicyDocument:
              Version: '2012-10-17'
              Statement:
                - Effect: Allow
                  Action: sqs:SendMessage
                  Resource: !GetAtt FlowTasksQueue.Arn
                - Effect: Allow
                  Action: sns:Publish
                  Resource: !Ref FlowEventsTopic
                - Effect: Allow  # log delivery has no resource-level permissions
                  Action:
                    - logs:CreateLogDelivery
                    - logs:GetLogDelivery
                    - logs:UpdateLogDelivery
                    - logs:DeleteLogDelivery
                    - logs:ListLogDeliveries
                    - logs:PutResourcePolicy
                    - logs:DescribeResourcePolicies
                    - logs:DescribeLogGroups
                  Resource: '*'
    FlowWorkflow:
      Type: AWS::StepFunctions::StateMachine
      Properties:
        StateMachineName: ${self:service}-${sls:stage}-workflow
        StateMachineType: STANDARD
        RoleArn: !GetAtt FlowWorkflowRole.Arn
        LoggingConfiguration:
          Level: ERROR
          IncludeExecutionData: false
          Destinations:
            - CloudWatchLogsLogGroup: { LogGroupArn: !GetAtt FlowWorkflowLogGroup.Arn }
        Definition:
          StartAt: Plan
          States:
            Plan:
              Type: Task
              Resource: arn:aws:states:::sqs:sendMessage.waitForTaskToken
              Parameters:
                QueueUrl: '${TasksQueueUrl}'
                MessageBody: { step: plan, token.$: $$.Task.Token, input.$: $ }
              HeartbeatSeconds: 30
              Catch: [ { ErrorEquals: [ States.ALL ], Next: Failed } ]
              ResultPath: $.plan
              Next: Encode
            Encode:
              Type: Map
              ItemsPath: $.plan.chunks
              MaxConcurrency: ${param:chunkConcurrency}
              ItemSelector: { index.$: $$.Map.Item.Index, chunk.$: $$.Map.Item.Value }
              ItemProcessor:
                ProcessorConfig: { Mode: INLINE }
                StartAt: EncodeChunk
                States:
                  EncodeChunk:
                    Type: Task
                    Resource: arn:aws:states:::sqs:sendMessage.waitForTaskToken
                    Parameters:
                      QueueUrl: '${TasksQueueUrl}'
                      MessageBody: { step: encode, token.$: $$.Task.Token, input.$: $ }
                    HeartbeatSeconds: 30
                    Catch: [ { ErrorEquals: [ States.ALL ], Next: ChunkFailed } ]
                    End: true
                  ChunkFailed: { Type: Fail, Error: ChunkFailed }
              ResultPath: $.pieces
              Catch: [ { ErrorEquals: [ States.ALL ], Next: Failed } ]
              End: true
            Failed: { Type: Fail, Error: WorkflowFailed }
        DefinitionSubstitutions:
          TasksQueueUrl: !Ref FlowTasksQueue
          EventsTopicArn: !Ref FlowEventsTopic
"""


def write_repo(root: Path, service: str = SERVICE) -> Path:
    """A repository with serverless-compose.yml and services/flow/serverless.yml; returns `root`."""
    (root / "services" / "flow").mkdir(parents=True, exist_ok=True)
    (root / "serverless-compose.yml").write_text(COMPOSE)
    (root / "services" / "flow" / "serverless.yml").write_text(service)
    return root
