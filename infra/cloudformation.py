"""CloudFormation's side of the declarations: physical names, pseudo parameters and the intrinsics
(Ref, GetAtt, Sub, Join, ImportValue) evaluated the way CloudFormation would for one stack."""

from __future__ import annotations

import re
from typing import Any

from infra.account import ACCOUNT_ID, REGION, function_arn, queue_arn, topic_arn
from infra.serverless import TopologyError

# The property that names each resource type this reader knows by name (they must be explicit).
NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
}
_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9:._]+)\}")


class Template:
    """One service's stack: its resources, the exports of the stacks before it, and its functions."""

    def __init__(
        self, name: str, resources: dict[str, Any], exports: dict[str, str], functions: dict[str, str] | None = None
    ) -> None:
        self.name, self.resources, self.exports = name, resources, exports
        self.functions = functions or {}  # logical id (as Serverless names it) -> deployed function name
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.names: dict[str, str] = {}
        for logical_id, resource in resources.items():
            prop = NAME_PROPERTY.get(resource.get("Type", ""))
            if prop:
                if prop not in resource.get("Properties", {}):
                    raise TopologyError(f"{name}: {logical_id} needs an explicit {prop}")
                self.names[logical_id] = self.evaluate(resource["Properties"][prop])

    def ref(self, logical_id: str) -> str:
        if logical_id in self.pseudo:
            return self.pseudo[logical_id]
        kind = self.resources.get(logical_id, {}).get("Type")
        if kind == "AWS::SNS::Topic":
            return topic_arn(self.names[logical_id])
        if kind in ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::SQS::Queue"):
            # (a queue's Ref is its URL in AWS; the local stack keys queues by name)
            return self.names[logical_id]
        if kind == "AWS::Lambda::LayerVersion" or logical_id.endswith("LambdaLayer"):
            return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{logical_id}:1"
        raise TopologyError(f"{self.name}: cannot resolve Ref {logical_id}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id in self.functions and attribute == "Arn":
            return function_arn(self.functions[logical_id])
        kind = self.resources.get(logical_id, {}).get("Type")
        if logical_id not in self.names:
            raise TopologyError(f"{self.name}: cannot resolve GetAtt {logical_id}.{attribute}")
        name = self.names[logical_id]
        values = {
            ("AWS::SQS::Queue", "Arn"): lambda: queue_arn(name),
            ("AWS::SQS::Queue", "QueueName"): lambda: name,
            ("AWS::S3::Bucket", "Arn"): lambda: f"arn:aws:s3:::{name}",
            ("AWS::SNS::Topic", "TopicArn"): lambda: topic_arn(name),
            ("AWS::SNS::Topic", "TopicName"): lambda: name,
            ("AWS::DynamoDB::Table", "Arn"): lambda: f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
        }
        if (kind, attribute) not in values:
            raise TopologyError(f"{self.name}: cannot resolve GetAtt {logical_id}.{attribute}")
        return values[(kind, attribute)]()

    def _sub(self, template: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in variables:
                return str(self.evaluate(variables[token]))
            if "." in token and not token.startswith("AWS::"):
                return self.get_att(*token.split(".", 1))
            return self.ref(token)

        return _SUB_VARIABLE.sub(replace, template)

    def evaluate(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.evaluate(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                return self.get_att(*arg)
            if fn == "Fn::Sub":
                template, variables = (arg, {}) if isinstance(arg, str) else arg
                return self._sub(template, variables)
            if fn == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.evaluate(p)) for p in parts)
            if fn == "Fn::ImportValue":
                export = self.evaluate(arg)
                if export not in self.exports:
                    raise TopologyError(f"{self.name}: imports {export!r}, which no earlier service exports")
                return self.exports[export]
            if fn.startswith("Fn::"):
                raise TopologyError(f"{self.name}: {fn} is not supported by the local stack")
        return {k: self.evaluate(v) for k, v in value.items()}
