"""CloudFormation's side of the declarations: physical names, pseudo parameters and the intrinsics
(Ref, GetAtt, Sub, Join, Select, Split, ImportValue; the Conditions with If, Equals, Not, And, Or and AWS::NoValue)
evaluated the way CloudFormation would for one stack, and a state machine's DefinitionSubstitutions
applied to its definition."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from infra.account import ACCOUNT_ID, REGION, function_arn, queue_arn, queue_url, state_machine_arn, topic_arn
from infra.serverless import TopologyError

# The property that names each resource type this reader knows by name (they must be explicit).
NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
}
# Types whose name may be left out: CloudFormation then makes one up ({stack}-{logical id}-{random};
# here without the random part, so the name is the same on every read).
GENERATED_NAME_PROPERTY = {
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
}
# Types whose id the service makes up on creation (a distribution's E2QWRUHAPOMQZL, an API's a1b2c3d4e5):
# made up here from the stack and the logical id, so that every read gives the same one.
SERVICE_ID = {
    "AWS::CloudFront::Distribution": "E",
    "AWS::CloudFront::OriginAccessControl": "E",
    "AWS::CloudFront::PublicKey": "K",
    "AWS::CloudFront::KeyGroup": "",
    "AWS::CloudFront::ResponseHeadersPolicy": "",
    "AWS::ApiGatewayV2::Api": "",
}
_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9:._]+)\}")
_NO_VALUE: Any = object()  # Ref AWS::NoValue: the property (or list item) is left out


class Template:
    """One service's stack: its resources, the exports of the stacks before it, and its functions."""

    def __init__(
        self,
        name: str,
        resources: dict[str, Any],
        exports: dict[str, str],
        functions: dict[str, str] | None = None,
        conditions: dict[str, Any] | None = None,
        generated: dict[str, str] | None = None,
    ) -> None:
        self.name, self.resources, self.exports = name, resources, exports
        self.conditions = conditions or {}
        self.functions = functions or {}  # logical id (as Serverless names it) -> deployed function name
        # logical id -> type of each resource that the framework adds to the template (HttpApi: the httpApi)
        self.kinds = {lid: str(r.get("Type", "")) for lid, r in resources.items()} | (generated or {})
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
            prop = GENERATED_NAME_PROPERTY.get(resource.get("Type", ""))
            if prop:
                given = resource.get("Properties", {}).get(prop)
                self.names[logical_id] = self.evaluate(given) if given else f"{name}-{logical_id}"

    def exists(self, declaration: dict[str, Any]) -> bool:
        """Whether a resource or output is in the stack: it has no Condition, or its condition holds."""
        return "Condition" not in declaration or self.condition(declaration["Condition"])

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise TopologyError(f"{self.name}: no condition {name}")
        return self._truth(self.conditions[name])

    def _truth(self, value: Any) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Condition":
                return self.condition(arg)
            if fn == "Fn::Equals":
                left, right = (self.evaluate(v) for v in arg)
                return bool(left == right)
            if fn == "Fn::Not":
                return not self._truth(arg[0])
            if fn == "Fn::And":
                return all(self._truth(v) for v in arg)
            if fn == "Fn::Or":
                return any(self._truth(v) for v in arg)
        raise TopologyError(f"{self.name}: {value!r} is not a condition the local stack can evaluate")

    def service_id(self, logical_id: str) -> str:
        """The id a service would give the resource: the type's prefix, then hex digits of its stack and name."""
        prefix = SERVICE_ID[self.kinds[logical_id]]
        digest = hashlib.sha256(f"{self.name}/{logical_id}".encode()).hexdigest()
        if prefix:
            return prefix + digest.upper()[:13]
        return digest[:10]

    def ref(self, logical_id: str) -> str:
        if logical_id in self.pseudo:
            return self.pseudo[logical_id]
        kind = self.kinds.get(logical_id, "")
        if kind in SERVICE_ID:
            return self.service_id(logical_id)
        if kind == "AWS::CloudFront::Function":
            return self.get_att(logical_id, "FunctionARN")
        if kind == "AWS::SNS::Topic":
            return topic_arn(self.names[logical_id])
        if kind == "AWS::SQS::Queue":
            return queue_url(self.names[logical_id])
        if kind == "AWS::StepFunctions::StateMachine":
            return state_machine_arn(self.names[logical_id])
        if kind in ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::IAM::Role", "AWS::Logs::LogGroup"):
            return self.names[logical_id]
        if kind == "AWS::Lambda::LayerVersion" or logical_id.endswith("LambdaLayer"):
            return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{logical_id}:1"
        raise TopologyError(f"{self.name}: cannot resolve Ref {logical_id}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id in self.functions and attribute == "Arn":
            return function_arn(self.functions[logical_id])
        kind = self.kinds.get(logical_id, "")
        if kind in SERVICE_ID and attribute == "Id":
            return self.service_id(logical_id)
        if kind == "AWS::CloudFront::Distribution" and attribute == "DomainName":
            return f"d{self.service_id(logical_id).lower()[1:]}.cloudfront.net"
        if kind == "AWS::CloudFront::Function" and attribute == "FunctionARN":
            name = self.evaluate(self.resources[logical_id].get("Properties", {}).get("Name", logical_id))
            return f"arn:aws:cloudfront::{ACCOUNT_ID}:function/{name}"
        if logical_id not in self.names:
            raise TopologyError(f"{self.name}: cannot resolve GetAtt {logical_id}.{attribute}")
        name = self.names[logical_id]
        values = {
            ("AWS::SQS::Queue", "Arn"): lambda: queue_arn(name),
            ("AWS::SQS::Queue", "QueueName"): lambda: name,
            ("AWS::SQS::Queue", "QueueUrl"): lambda: queue_url(name),
            ("AWS::S3::Bucket", "Arn"): lambda: f"arn:aws:s3:::{name}",
            ("AWS::S3::Bucket", "DomainName"): lambda: f"{name}.s3.amazonaws.com",
            ("AWS::S3::Bucket", "RegionalDomainName"): lambda: f"{name}.s3.{REGION}.amazonaws.com",
            ("AWS::SNS::Topic", "TopicArn"): lambda: topic_arn(name),
            ("AWS::SNS::Topic", "TopicName"): lambda: name,
            ("AWS::DynamoDB::Table", "Arn"): lambda: f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
            ("AWS::StepFunctions::StateMachine", "Arn"): lambda: state_machine_arn(name),
            ("AWS::StepFunctions::StateMachine", "Name"): lambda: name,
            ("AWS::IAM::Role", "Arn"): lambda: f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
            ("AWS::Logs::LogGroup", "Arn"): lambda: f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*",
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
        evaluated = self._evaluate(value)
        return None if evaluated is _NO_VALUE else evaluated

    def _evaluate(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self._evaluate(v) for v in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref" and arg == "AWS::NoValue":
                return _NO_VALUE
            if fn == "Fn::If":
                name, when_true, when_false = arg
                return self._evaluate(when_true if self.condition(name) else when_false)
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
            if fn == "Fn::Select":
                index, items = arg
                return self.evaluate(items)[int(self.evaluate(index))]
            if fn == "Fn::Split":
                separator, text = arg
                return str(self.evaluate(text)).split(separator)
            if fn == "Fn::ImportValue":
                export = self.evaluate(arg)
                if export not in self.exports:
                    raise TopologyError(f"{self.name}: imports {export!r}, which no earlier service exports")
                return self.exports[export]
            if fn.startswith("Fn::"):
                raise TopologyError(f"{self.name}: {fn} is not supported by the local stack")
        return {k: v for k, v in ((k, self._evaluate(v)) for k, v in value.items()) if v is not _NO_VALUE}


def state_machine_definition(logical_id: str, properties: dict[str, Any]) -> str:
    """The definition Step Functions gets: `Definition` (an object) or `DefinitionString`, as JSON, with each
    `${Name}` of DefinitionSubstitutions replaced by its (evaluated) value, as CloudFormation does it.

    `properties` are already evaluated; a `${Name}` with no substitution is left as it is (it may be
    a literal in the workflow's text), as CloudFormation leaves it.
    """
    if "Definition" in properties:
        text = json.dumps(properties["Definition"])
    elif isinstance(properties.get("DefinitionString"), str):
        text = properties["DefinitionString"]
    else:
        raise TopologyError(f"{logical_id}: needs a Definition (object) or a DefinitionString")
    substitutions = properties.get("DefinitionSubstitutions") or {}
    for name, value in substitutions.items():
        if isinstance(value, (dict, list)):
            raise TopologyError(f"{logical_id}: DefinitionSubstitutions {name} is not a string, number or boolean")
        text = text.replace(f"${{{name}}}", json.dumps(value) if isinstance(value, bool) else str(value))
    return text
