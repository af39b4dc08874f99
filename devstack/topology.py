"""The local stack's topology, read from the services' own serverless.yml files.

Nothing here is declared twice: buckets, topics, queues, subscriptions, tables and
functions come from each service's `resources` and `functions` sections, in the
order `serverless-compose.yml` deploys them. The Serverless variables and the
CloudFormation intrinsics the services use are resolved here the way the
framework and CloudFormation would resolve them for a stage.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"

# Resource types that have no local behaviour to emulate (policies, alarms, IAM):
# they are read, checked for type, and skipped.
NOT_EMULATED = {
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Subscription#email",
}
EMULATED = {
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::SQS::Queue",
    "AWS::DynamoDB::Table",
}


class TopologyError(Exception):
    """A serverless.yml uses something the local stack cannot read."""


# --- YAML with CloudFormation short tags -------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    pass


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.load(handle, Loader=_CfnLoader) or {}


# --- Serverless variables -----------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(self|sls|opt|param|aws):([^{}]*)\}")


@dataclass
class _Variables:
    config: dict[str, Any]
    stage: str
    region: str
    params: dict[str, Any]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, str):
            return value
        whole = _VARIABLE.fullmatch(value)
        if whole:
            return self.resolve(self._lookup(whole.group(1), whole.group(2)))
        return _VARIABLE.sub(lambda m: str(self.resolve(self._lookup(m.group(1), m.group(2)))), value)

    def _lookup(self, source: str, address: str) -> Any:
        address, _, default = (part.strip() for part in address.partition(","))
        default = default.strip("'\"") if default else None
        if source == "sls" and address == "stage":
            return self.stage
        if source == "opt":
            return {"stage": self.stage, "region": self.region}.get(address, default)
        if source == "aws":
            return {"region": self.region, "accountId": ACCOUNT_ID}[address]
        if source == "param":
            if address not in self.params:
                raise TopologyError(f"unknown param {address!r}")
            return self.params[address]
        node: Any = self.config
        for part in address.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not None:
                    return default
                raise TopologyError(f"${{self:{address}}} is not in serverless.yml")
            node = node[part]
        return node


# --- The model ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    name: str
    topic_notifications: list[dict[str, Any]]
    cors_rules: list[dict[str, Any]]


@dataclass(frozen=True)
class Queue:
    name: str
    attributes: dict[str, str]
    dead_letter_arn: str | None


@dataclass(frozen=True)
class Subscription:
    topic_arn: str
    protocol: str
    endpoint: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class Invocable:
    """A function invoked directly: an API route's handler or an authorizer."""

    service: str
    name: str
    service_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    arn: str

    @property
    def key(self) -> str:
        return f"{self.service}-{self.name}"

    @property
    def log_group(self) -> str:
        """Where Lambda writes the function's logs: /aws/lambda/{deployed function name}."""
        return f"/aws/lambda/{self.arn.rsplit(':', 1)[-1]}"


@dataclass(frozen=True)
class Function(Invocable):
    """A function fed by an SQS queue through an event source mapping."""

    queue_arn: str
    batch_size: int
    batching_window: int
    reports_batch_failures: bool


@dataclass(frozen=True)
class Route:
    """An httpApi route, with the authorizer (a function key) that guards it, if any."""

    method: str
    path: str
    function: str
    authorizer: str | None = None
    identity_source: str | None = None


@dataclass
class Service:
    name: str
    directory: Path
    resources: dict[str, Any]  # logical id -> physical id (bucket/queue/table name, topic arn)


@dataclass
class Topology:
    stage: str
    services: dict[str, Service] = field(default_factory=dict)
    buckets: list[Bucket] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    invocables: dict[str, Invocable] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    exports: dict[str, str] = field(default_factory=dict)

    def physical(self, service: str, logical_id: str) -> str:
        return self.services[service].resources[logical_id]

    def queue(self, name: str) -> Queue:
        return next(q for q in self.queues if q.name == name)


def topic_arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"


# --- CloudFormation intrinsics --------------------------------------------------------

_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
}
_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9:._]+)\}")


class _Stack:
    """One service's template: physical names, Ref, GetAtt, Sub, Join, ImportValue."""

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
            prop = _NAME_PROPERTY.get(resource.get("Type", ""))
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
            return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.functions[logical_id]}"
        kind = self.resources.get(logical_id, {}).get("Type")
        name = self.names.get(logical_id)
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


# --- Reading the services -----------------------------------------------------------


def compose_order(root: Path = ROOT) -> list[tuple[str, Path]]:
    """Services in the order compose deploys them (dependsOn first)."""
    compose = load_yaml(root / "serverless-compose.yml")["services"]
    ordered: list[str] = []

    def visit(name: str, trail: tuple[str, ...] = ()) -> None:
        if name in trail:
            raise TopologyError(f"dependency cycle: {' -> '.join((*trail, name))}")
        if name in ordered:
            return
        for dependency in compose[name].get("dependsOn", []):
            if dependency not in compose:
                raise TopologyError(f"{name} depends on {dependency!r}, which serverless-compose.yml does not list")
            visit(dependency, (*trail, name))
        ordered.append(name)

    for name in compose:
        visit(name)
    return [(name, root / compose[name]["path"]) for name in ordered]


def _string_map(values: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def _queue(properties: dict[str, Any]) -> Queue:
    attributes = {k: str(properties[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in properties}
    redrive = properties.get("RedrivePolicy")
    if redrive:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": redrive["deadLetterTargetArn"], "maxReceiveCount": int(redrive["maxReceiveCount"])}
        )
    return Queue(properties["QueueName"], attributes, redrive["deadLetterTargetArn"] if redrive else None)


def _subscription(properties: dict[str, Any]) -> Subscription:
    attributes = {}
    for prop in ("RawMessageDelivery", "FilterPolicy", "RedrivePolicy", "FilterPolicyScope"):
        if prop in properties:
            value = properties[prop]
            attributes[prop] = str(value).lower() if isinstance(value, bool) else _string_map({prop: value})[prop]
    return Subscription(properties["TopicArn"], properties["Protocol"], properties["Endpoint"], attributes)


def _table(properties: dict[str, Any]) -> dict[str, Any]:
    spec = {
        k: properties[k] for k in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode") if k in properties
    }
    if "TimeToLiveSpecification" in properties:  # not a CreateTable argument: provision sets it after
        spec["TimeToLiveSpecification"] = properties["TimeToLiveSpecification"]
    if "GlobalSecondaryIndexes" in properties:
        spec["GlobalSecondaryIndexes"] = [
            {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
            for index in properties["GlobalSecondaryIndexes"]
        ]
    return spec


def load(stage: str = "local", root: Path = ROOT, params: dict[str, str] | None = None) -> Topology:
    """The topology for a stage; `params` override the services' default params (as compose would)."""
    topology = Topology(stage=stage)
    pending_routes: list[tuple[str, dict[str, Any], str, Any]] = []
    for name, directory in compose_order(root):
        raw = load_yaml(directory / "serverless.yml")
        defaults = (raw.get("params") or {}).get("default", {})
        service_params = defaults | {k: v for k, v in (params or {}).items() if k in defaults}
        config = _Variables(raw, stage, REGION, service_params).resolve(raw)
        resources = (config.get("resources") or {}).get("Resources", {})
        functions = {
            f"{name[0].upper()}{name[1:]}LambdaFunction": f"{config['service']}-{stage}-{name}"
            for name in (config.get("functions") or {})
        }
        stack = _Stack(config["service"], resources, topology.exports, functions)
        service = Service(name, directory, {})
        for logical_id, resource in resources.items():
            kind = resource["Type"]
            properties = stack.evaluate(resource.get("Properties", {}))
            if kind == "AWS::SNS::Subscription" and properties.get("Protocol") == "email":
                continue
            if kind not in EMULATED:
                if kind not in NOT_EMULATED:
                    raise TopologyError(f"{name}: {logical_id} has type {kind}, unknown to the local stack")
                continue
            if kind in _NAME_PROPERTY:
                service.resources[logical_id] = stack.ref(logical_id)
            if kind == "AWS::S3::Bucket":
                notifications = (properties.get("NotificationConfiguration") or {}).get("TopicConfigurations", [])
                cors = (properties.get("CorsConfiguration") or {}).get("CorsRules", [])
                topology.buckets.append(Bucket(properties["BucketName"], notifications, cors))
            elif kind == "AWS::SNS::Topic":
                topology.topics.append(properties["TopicName"])
            elif kind == "AWS::SQS::Queue":
                topology.queues.append(_queue(properties))
            elif kind == "AWS::SNS::Subscription":
                topology.subscriptions.append(_subscription(properties))
            elif kind == "AWS::DynamoDB::Table":
                topology.tables.append(_table(properties))
        provider = config.get("provider") or {}
        provider_env = provider.get("environment") or {}
        authorizers = (provider.get("httpApi") or {}).get("authorizers") or {}
        for function_name, function in (config.get("functions") or {}).items():
            environment = stack.evaluate({**provider_env, **(function.get("environment") or {})})
            invocable = Invocable(
                service=name,
                name=function_name,
                service_dir=directory,
                handler=function["handler"],
                environment=_string_map(environment),
                timeout=int(function.get("timeout", 6)),
                memory=int(function.get("memorySize", 1024)),
                arn=stack.get_att(f"{function_name[0].upper()}{function_name[1:]}LambdaFunction", "Arn"),
            )
            topology.invocables[invocable.key] = invocable
            for event in function.get("events", []):
                if "httpApi" in event:
                    route = event["httpApi"]
                    authorizer = (route.get("authorizer") or {}).get("name") if isinstance(route, dict) else None
                    spec = stack.evaluate(authorizers[authorizer]) if authorizer else None
                    pending_routes.append((invocable.key, route, name, spec))
                    continue
                sqs = event.get("sqs")
                if not sqs:
                    raise TopologyError(f"{name}.{function_name}: only sqs and httpApi events run locally")
                sqs = sqs if isinstance(sqs, dict) else {"arn": sqs}
                topology.functions.append(
                    Function(
                        **vars(invocable),
                        queue_arn=stack.evaluate(sqs["arn"]),
                        batch_size=int(sqs.get("batchSize", 10)),
                        batching_window=int(sqs.get("maximumBatchingWindow", 0)),
                        reports_batch_failures=sqs.get("functionResponseType") == "ReportBatchItemFailures",
                    )
                )
        for output in ((config.get("resources") or {}).get("Outputs") or {}).values():
            if "Export" in output:
                topology.exports[stack.evaluate(output["Export"]["Name"])] = stack.evaluate(output["Value"])
        topology.services[name] = service
    for function_key, route, service_name, authorizer in pending_routes:
        topology.routes.append(_route(topology, function_key, route, service_name, authorizer))
    return topology


def _route(topology: Topology, function_key: str, route: Any, service: str, authorizer: Any) -> Route:
    method, path = (route["method"], route["path"]) if isinstance(route, dict) else route.split(" ", 1)
    if authorizer is None:
        return Route(method.upper(), path, function_key)
    if authorizer.get("type") != "request" or not authorizer.get("enableSimpleResponses"):
        raise TopologyError(f"{function_key}: only request authorizers with simple responses run locally")
    if "functionName" in authorizer:
        guard = f"{service}-{authorizer['functionName']}"
    else:
        guard = next((k for k, f in topology.invocables.items() if f.arn == authorizer.get("functionArn")), "")
    if guard not in topology.invocables:
        raise TopologyError(f"{function_key}: authorizer {authorizer} is not a function of any service")
    source = authorizer.get("identitySource")
    source = source[0] if isinstance(source, list) else source
    return Route(method.upper(), path, function_key, guard, source)
