"""The deployment model: what the services declare, read from their own serverless.yml files.

Nothing here is declared twice: buckets, topics, queues, subscriptions, tables, state
machines and functions come from each service's `resources` and `functions` sections, in the
order `serverless-compose.yml` deploys them. The Serverless variables and the
CloudFormation intrinsics the services use are resolved the way the framework and
CloudFormation would resolve them for a stage (see `serverless` and `cloudformation`).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.account import REGION
from infra.cloudformation import NAME_PROPERTY, Template, state_machine_definition
from infra.cloudfront import response_headers
from infra.serverless import (
    ROOT,
    TopologyError,
    Variables,
    compose_order,
    deployed_function_name,
    function_logical_id,
    load_yaml,
)

# Resource types that have no local behaviour to emulate (policies, alarms, IAM):
# they are read, checked for type, and skipped.
NOT_EMULATED = {
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Budgets::Budget",  # the account's monthly budget (metadata, when a stage sets one)
    "AWS::IAM::Role",  # moto does not enforce IAM: a state machine's role is only its ARN locally
    "AWS::IAM::Policy",
    "AWS::Logs::LogGroup",  # created on first write (the local stack's log shipper does)
    # The playback CDN: locally, media is signed by S3 presigned URLs of the moto server instead;
    # the website's: a local server sends its files with the same headers (Topology.sites)
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::Function",
    "AWS::CloudFront::KeyGroup",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::PublicKey",
    "AWS::CloudFront::ResponseHeadersPolicy",
}
EMULATED = {
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::SQS::Queue",
    "AWS::DynamoDB::Table",
    "AWS::StepFunctions::StateMachine",
}


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
class StateMachine:
    """A Step Functions state machine; `definition` is the ASL JSON with DefinitionSubstitutions applied."""

    name: str
    arn: str
    type: str  # STANDARD or EXPRESS
    definition: str
    # the local stack's waits before each retry of a Task (the service's custom.emulator.retrySeconds): None,
    # the Retry's own (infra/emulator.py)
    local_retry_seconds: tuple[float, ...] | None = None


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

    @property
    def package(self) -> str:
        """The service's Python package the handler lives in (`handler: intake/handlers/x.handler` -> intake)."""
        return self.handler.split("/", 1)[0]

    def load_handler(self) -> Callable[..., Any]:
        """The handler, imported the way Lambda does: `module/path.attribute`, from the service's folder."""
        if str(self.service_dir) not in sys.path:
            sys.path.insert(0, str(self.service_dir))
        module_name, attribute = self.handler.rsplit(".", 1)
        handler: Callable[..., Any] = getattr(importlib.import_module(module_name.replace("/", ".")), attribute)
        return handler


@dataclass(frozen=True)
class Function(Invocable):
    """A function fed by an SQS queue through an event source mapping."""

    queue_arn: str
    batch_size: int
    batching_window: int
    reports_batch_failures: bool


@dataclass(frozen=True)
class Cors:
    """The CORS configuration of a service's HTTP API (`provider.httpApi.cors`), as the framework writes it
    into the API's `CorsConfiguration`: API Gateway answers preflights with it and adds it to every response."""

    allow_origins: tuple[str, ...]
    allow_headers: tuple[str, ...]
    allow_methods: tuple[str, ...]
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class Route:
    """An httpApi route, with the authorizer (a function key) that guards it, if any, and its API's CORS."""

    method: str
    path: str
    function: str
    authorizer: str | None = None
    identity_source: str | None = None
    cors: Cors | None = None


@dataclass(frozen=True)
class WebSocketRoute:
    """A `websocket` event: its route key ($connect, $disconnect, $default or an action), its function (a key),
    and on $connect the authorizer (a function key) with its identity sources (`route.request.header.Auth`,
    `route.request.querystring.token`: API Gateway's names, the framework's default being the first)."""

    route_key: str
    function: str
    authorizer: str | None = None
    identity_source: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebSocketApi:
    """A service's WebSocket API (the framework's `WebsocketsApi`): its id as Ref gives it, its route selection
    expression, and the management (@connections) URL its stage has in AWS, which the local stack replaces."""

    service: str
    api_id: str
    route_selection: str
    management_url: str


@dataclass
class Service:
    name: str
    directory: Path
    resources: dict[str, Any]  # logical id -> physical id (bucket/queue/table name, topic/state machine arn)
    stack_name: str = ""  # the framework's `service` (its CloudFormation stack is `{stack_name}-{stage}`)


@dataclass(frozen=True)
class Site:
    """A website: the directory its built files are in (the service's `custom.site.directory`) and the
    headers CloudFront adds to every answer (its distribution's response headers policy), by name; and those of
    each cache behaviour with a policy of its own, by path pattern, in the distribution's order (CloudFront answers
    a request with the first that matches the path asked for, else the default: infra.cloudfront.headers_for)."""

    service: str
    directory: Path
    headers: dict[str, str]
    behaviours: tuple[tuple[str, dict[str, str]], ...] = ()


@dataclass
class Topology:
    stage: str
    services: dict[str, Service] = field(default_factory=dict)
    buckets: list[Bucket] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    state_machines: list[StateMachine] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    invocables: dict[str, Invocable] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    websocket_apis: list[WebSocketApi] = field(default_factory=list)
    websocket_routes: list[WebSocketRoute] = field(default_factory=list)
    # each service's HTTP API's URL in AWS (its `$default` stage: no stage path), which the local stack replaces
    http_api_urls: dict[str, str] = field(default_factory=dict)
    exports: dict[str, str] = field(default_factory=dict)
    sites: list[Site] = field(default_factory=list)

    def physical(self, service: str, logical_id: str) -> str:
        return str(self.services[service].resources[logical_id])

    def queue(self, name: str) -> Queue:
        return next(q for q in self.queues if q.name == name)

    def state_machine(self, name: str) -> StateMachine:
        return next(m for m in self.state_machines if m.name == name)


# --- Reading the services -----------------------------------------------------------


def _string_map(values: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def _queue(properties: dict[str, Any]) -> Queue:
    attributes: dict[str, str] = {
        k: str(properties[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in properties
    }
    redrive = properties.get("RedrivePolicy")
    if redrive:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": redrive["deadLetterTargetArn"], "maxReceiveCount": int(redrive["maxReceiveCount"])}
        )
    return Queue(properties["QueueName"], attributes, redrive["deadLetterTargetArn"] if redrive else None)


def _subscription(properties: dict[str, Any]) -> Subscription:
    attributes: dict[str, str] = {}
    for prop in ("RawMessageDelivery", "FilterPolicy", "RedrivePolicy", "FilterPolicyScope"):
        if prop in properties:
            value = properties[prop]
            attributes[prop] = str(value).lower() if isinstance(value, bool) else _string_map({prop: value})[prop]
    return Subscription(properties["TopicArn"], properties["Protocol"], properties["Endpoint"], attributes)


def _site(service: str, directory: Path, settings: dict[str, Any], resources: dict[str, Any], stack: Template) -> Site:
    """The site a service's `custom.site` publishes, with the headers of its distribution's default behaviour, and
    of each other behaviour whose response headers policy is another one of its own."""
    configs = [
        resource["Properties"]["DistributionConfig"]
        for resource in resources.values()
        if resource["Type"] == "AWS::CloudFront::Distribution" and stack.exists(resource)
    ]
    default = configs[0]["DefaultCacheBehavior"].get("ResponseHeadersPolicyId") if len(configs) == 1 else None
    if not isinstance(default, dict) or "Ref" not in default:
        raise TopologyError(f"{service}: custom.site needs one distribution with a response headers policy of its own")

    def headers(logical_id: str) -> dict[str, str]:
        return response_headers(stack.evaluate(resources[logical_id]["Properties"])["ResponseHeadersPolicyConfig"])

    behaviours = tuple(
        (behaviour["PathPattern"], headers(policy["Ref"]))
        for behaviour in configs[0].get("CacheBehaviors") or []
        if isinstance(policy := behaviour.get("ResponseHeadersPolicyId"), dict)
        and policy.get("Ref") not in (None, default["Ref"])
    )
    return Site(service, directory / settings["directory"], headers(default["Ref"]), behaviours)


def _table(properties: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
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


# What the framework puts in the API when `cors: true` (or leaves a field out): its own defaults, and the
# methods of the service's routes (all of them for an ANY route), OPTIONS first.
FRAMEWORK_CORS_HEADERS = ("Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "X-Amz-Security-Token",
                          "X-Amz-User-Agent", "X-Amzn-Trace-Id")  # fmt: skip
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD", "DELETE")
_CORS_FIELDS = {"allowedOrigins", "allowedHeaders", "allowedMethods", "exposedResponseHeaders", "maxAge",
                "allowCredentials"}  # fmt: skip


def api_cors(setting: Any, route_methods: list[str], where: str) -> Cors | None:
    """A service's `provider.httpApi.cors` (true, or the framework's object form) as the API's CORS."""
    if not setting:
        return None
    options: dict[str, Any] = {} if setting is True else setting
    if not isinstance(options, dict) or set(options) - _CORS_FIELDS:
        raise TopologyError(f"{where}: provider.httpApi.cors must be true or an object of {sorted(_CORS_FIELDS)}")

    def listed(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = options.get(name)
        if not value:
            return default
        return tuple(str(v) for v in (value if isinstance(value, list) else [value]))

    filled = ["OPTIONS"]
    for method in route_methods:
        for one in HTTP_METHODS if method in ("ANY", "*") else (method,):
            if one not in filled:
                filled.append(one)
    return Cors(
        allow_origins=listed("allowedOrigins", ("*",)),
        allow_headers=listed("allowedHeaders", FRAMEWORK_CORS_HEADERS),
        allow_methods=listed("allowedMethods", tuple(filled)),
        expose_headers=listed("exposedResponseHeaders", ()),
        max_age=int(options["maxAge"]) if options.get("maxAge") is not None else None,
        allow_credentials=bool(options.get("allowCredentials")),
    )


def _seconds(emulator: dict[str, Any], service: str) -> tuple[float, ...] | None:
    """`custom.emulator.retrySeconds` ('5,30' or a list) as seconds; None when the service says none."""
    given = emulator.get("retrySeconds")
    if given is None:
        return None
    try:
        return tuple(float(s) for s in (given.split(",") if isinstance(given, str) else given))
    except (TypeError, ValueError):
        raise TopologyError(f"{service}: custom.emulator.retrySeconds must be seconds, got {given!r}") from None


def load(stage: str = "local", root: Path = ROOT, params: dict[str, str] | None = None) -> Topology:
    """The topology for a stage; `params` override the services' default params (as compose would)."""
    topology = Topology(stage=stage)
    pending_routes: list[tuple[str, dict[str, Any], str, Any]] = []
    pending_websocket: list[tuple[str, Any, str, Any]] = []  # (function key, event, service, evaluated authorizer)
    apis: dict[str, Cors | None] = {}  # service -> its HTTP API's CORS
    for name, directory in compose_order(root):
        raw = load_yaml(directory / "serverless.yml")
        defaults = (raw.get("params") or {}).get("default", {})
        service_params = defaults | {k: v for k, v in (params or {}).items() if k in defaults}
        config = Variables(raw, stage, REGION, service_params, directory).resolve(raw)
        conditions = (config.get("resources") or {}).get("Conditions", {})
        resources = (config.get("resources") or {}).get("Resources", {})
        functions = {
            function_logical_id(function): deployed_function_name(config["service"], stage, function)
            for function in (config.get("functions") or {})
        }
        http_api = (config.get("provider") or {}).get("httpApi") or any(
            "httpApi" in event
            for function in (config.get("functions") or {}).values()
            for event in function.get("events", [])
        )
        websocket_api = any(
            "websocket" in event
            for function in (config.get("functions") or {}).values()
            for event in function.get("events", [])
        )
        generated = {"HttpApi": "AWS::ApiGatewayV2::Api"} if http_api else {}  # the framework's, for its routes
        if websocket_api:
            generated["WebsocketsApi"] = "AWS::ApiGatewayV2::Api"
        stack = Template(config["service"], resources, topology.exports, functions, conditions, generated)
        service = Service(name, directory, {}, config["service"])
        for logical_id, resource in resources.items():
            kind = resource["Type"]
            if not stack.exists(resource):
                continue
            if kind not in EMULATED:  # (not evaluated: it may name what only the framework generates, a role)
                if kind not in NOT_EMULATED:
                    raise TopologyError(f"{name}: {logical_id} has type {kind}, unknown to the local stack")
                continue
            properties = stack.evaluate(resource.get("Properties", {}))
            if kind == "AWS::SNS::Subscription" and properties.get("Protocol") == "email":
                continue
            if kind in NAME_PROPERTY:  # (a queue by its name: the local stack keys queues by name)
                service.resources[logical_id] = (
                    stack.names[logical_id] if kind == "AWS::SQS::Queue" else stack.ref(logical_id)
                )
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
            elif kind == "AWS::StepFunctions::StateMachine":
                topology.state_machines.append(
                    StateMachine(
                        name=properties["StateMachineName"],
                        arn=stack.ref(logical_id),
                        type=properties.get("StateMachineType", "STANDARD"),
                        definition=state_machine_definition(f"{name}: {logical_id}", properties),
                        local_retry_seconds=_seconds(((config.get("custom") or {}).get("emulator") or {}), name),
                    )
                )
        if (config.get("custom") or {}).get("site"):
            topology.sites.append(_site(name, directory, config["custom"]["site"], resources, stack))
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
                arn=stack.get_att(function_logical_id(function_name), "Arn"),
            )
            topology.invocables[invocable.key] = invocable
            for event in function.get("events", []):
                if "httpApi" in event:
                    route = event["httpApi"]
                    authorizer = (route.get("authorizer") or {}).get("name") if isinstance(route, dict) else None
                    spec = stack.evaluate(authorizers[authorizer]) if authorizer else None
                    pending_routes.append((invocable.key, route, name, spec))
                    continue
                if "websocket" in event:
                    socket = event["websocket"]
                    guard = socket.get("authorizer") if isinstance(socket, dict) else None
                    pending_websocket.append((invocable.key, socket, name, stack.evaluate(guard)))
                    continue
                sqs = event.get("sqs")
                if not sqs:
                    raise TopologyError(f"{name}.{function_name}: only sqs, httpApi and websocket events run locally")
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
        if websocket_api:
            api_id = stack.ref("WebsocketsApi")
            topology.websocket_apis.append(
                WebSocketApi(
                    service=name,
                    api_id=api_id,
                    route_selection=str(provider.get("websocketsApiRouteSelectionExpression", "$request.body.action")),
                    management_url=f"https://{api_id}.execute-api.{REGION}.amazonaws.com/{stage}",
                )
            )
        if http_api:
            topology.http_api_urls[name] = f"https://{stack.ref('HttpApi')}.execute-api.{REGION}.amazonaws.com"
        methods = [_method_and_path(route)[0] for _, route, owner, _ in pending_routes if owner == name]
        apis[name] = api_cors((provider.get("httpApi") or {}).get("cors"), methods, name)
        for output in ((config.get("resources") or {}).get("Outputs") or {}).values():
            if "Export" in output and stack.exists(output):
                topology.exports[stack.evaluate(output["Export"]["Name"])] = stack.evaluate(output["Value"])
        topology.services[name] = service
    for function_key, route, service_name, authorizer in pending_routes:
        topology.routes.append(_route(topology, function_key, route, service_name, authorizer, apis[service_name]))
    for function_key, socket, service_name, authorizer in pending_websocket:
        topology.websocket_routes.append(_websocket_route(topology, function_key, socket, service_name, authorizer))
    return topology


def _method_and_path(route: Any) -> tuple[str, str]:
    method, path = (route["method"], route["path"]) if isinstance(route, dict) else route.split(" ", 1)
    return str(method).upper(), str(path)


def _route(
    topology: Topology, function_key: str, route: Any, service: str, authorizer: Any, cors: Cors | None
) -> Route:
    method, path = _method_and_path(route)
    if authorizer is None:
        return Route(method, path, function_key, cors=cors)
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
    return Route(method, path, function_key, guard, source, cors)


# The framework's identity source for a websocket authorizer that names none
DEFAULT_WEBSOCKET_IDENTITY = ("route.request.header.Auth",)


def _websocket_route(
    topology: Topology, function_key: str, socket: Any, service: str, authorizer: Any
) -> WebSocketRoute:
    """A `websocket` event (`route: $connect` or the short `websocket: $default`) with its authorizer resolved to a
    function: `arn` (any service's function with that ARN; `name` is then only a label) or `name` (this service's)."""
    route_key = str(socket["route"] if isinstance(socket, dict) else socket)
    if authorizer is None:
        return WebSocketRoute(route_key, function_key)
    if route_key != "$connect":
        raise TopologyError(f"{function_key}: API Gateway only authorizes $connect, not {route_key}")
    if isinstance(authorizer, str):  # the framework's short form: an ARN, or a function of this service
        authorizer = {"arn": authorizer} if ":" in authorizer else {"name": authorizer}
    if "arn" in authorizer:
        guard = next((k for k, f in topology.invocables.items() if f.arn == authorizer["arn"]), "")
    else:
        guard = f"{service}-{authorizer.get('name')}"
    if guard not in topology.invocables:
        raise TopologyError(f"{function_key}: websocket authorizer {authorizer} is not a function of any service")
    sources = authorizer.get("identitySource") or DEFAULT_WEBSOCKET_IDENTITY
    sources = (sources,) if isinstance(sources, str) else tuple(str(s) for s in sources)
    return WebSocketRoute(route_key, function_key, guard, sources)
