"""One description of a deployment: what a client needs to find it and test it from outside.

The local stack writes it (`python -m devstack up --ready-file`, where it is a superset: the stack adds its
own extras, such as moto's endpoint and the local issuer's key). For a deployed stage,
`python -m tools.deployment --stage dev` builds it from the services' CloudFormation stack outputs. The
e2e and browser tests and `make smoke` take every endpoint they test from it, so the same tests run
against either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from infra.topology import Topology

# The website's names for the HTTP APIs (its config.json's `apis`), the service whose API each is, and the
# paths each serves. Locally one gateway serves them all; in AWS each service has its own HTTP API.
API_SERVICES = {"upload": "upload", "videos": "metadata", "me": "auth"}
API_PATHS = {
    "upload": ("/uploads",),
    "videos": ("/videos", "/playback", "/shared", "/public", "/views", "/oembed"),
    "me": ("/me",),
}


class DeploymentError(Exception):
    """A deployment that cannot be described: a stack or an output is missing. The message says which."""


@dataclass(frozen=True)
class Issuer:
    issuer: str
    audience: str
    jwks_url: str
    client_id: str = ""  # the app client a test user signs in with (Cognito's jwtClientId), when there is one


@dataclass(frozen=True)
class Deployment:
    stage: str
    region: str
    apis: dict[str, str]  # upload, videos, me -> the HTTP API's base URL
    issuer: Issuer
    websocket: str | None = None
    site: str | None = None
    buckets: dict[str, str] = field(default_factory=dict)  # uploads, transcoded -> bucket name
    tables: dict[str, str] = field(default_factory=dict)  # catalog -> table name
    queues: list[str] = field(default_factory=list)  # every queue of the stage (DLQs included), by name

    def api_for(self, path: str) -> str:
        """The base URL of the API that serves `path` (`/videos/abc` -> the videos API)."""
        for name, prefixes in API_PATHS.items():
            if any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes):
                return self.apis[name]
        return self.apis["videos"]  # a path no API serves: any API answers 404, this one does

    def url(self, path: str) -> str:
        return f"{self.api_for(path)}{path}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        """Read a description (a local ready file too: its extras are ignored); a missing field is an error."""
        try:
            issuer = data["issuer"]
            return cls(
                stage=data["stage"],
                region=data["region"],
                apis={name: str(data["apis"][name]) for name in API_SERVICES},
                issuer=Issuer(issuer["issuer"], issuer["audience"], issuer["jwks_url"], issuer.get("client_id", "")),
                websocket=data.get("websocket"),
                site=data.get("site"),
                buckets=dict(data.get("buckets") or {}),
                tables=dict(data.get("tables") or {}),
                queues=list(data.get("queues") or []),
            )
        except (KeyError, TypeError) as missing:
            raise DeploymentError(f"not a deployment description: no {missing}") from None


NAMED = {  # the description's names for the resources a test reaches: (kind, name) -> (service, logical id)
    ("buckets", "uploads"): ("upload", "UploadsBucket"),
    ("buckets", "transcoded"): ("transcode", "TranscodedBucket"),
    ("tables", "catalog"): ("metadata", "CatalogTable"),
}


def resources(topology: Topology) -> dict[str, Any]:
    """The buckets, tables and queues a stage's resources are named (the same in AWS as locally); a topology
    without one of the services (a test's own repository) has none of its resources."""
    found: dict[str, Any] = {"buckets": {}, "tables": {}, "queues": [queue.name for queue in topology.queues]}
    for (kind, name), (service, logical_id) in NAMED.items():
        if service in topology.services and logical_id in topology.services[service].resources:
            found[kind][name] = topology.physical(service, logical_id)
    return found


Outputs = Callable[[str], dict[str, str]]  # a CloudFormation stack's name -> its outputs (key -> value)


def from_outputs(topology: Topology, region: str, outputs: Outputs) -> Deployment:
    """A deployed stage's description, from its services' stack outputs (`{service}-{stage}` stacks)."""

    def output(service: str, key: str, *, required: bool = True) -> str | None:
        stack = f"{topology.services[service].stack_name}-{topology.stage}"
        found = outputs(stack).get(key)
        if found is None and required:
            raise DeploymentError(f"stack {stack} has no output {key}: is the {service} service deployed?")
        return found

    try:
        trusted = json.loads(str(output("auth", "Issuer")))
        issuer = Issuer(trusted["issuer"], trusted["audience"], trusted["jwks_url"], trusted.get("client_id", ""))
    except (ValueError, KeyError, TypeError) as bad:
        raise DeploymentError(f"the auth stack's Issuer output is not the issuer's JSON: {bad}") from None
    apis = {name: str(output(service, "ApiUrl")) for name, service in API_SERVICES.items()}
    return Deployment(
        stage=topology.stage,
        region=region,
        apis=apis,
        issuer=issuer,
        websocket=output("notify", "WebsocketUrl", required=False),
        site=output("web", "SiteUrl", required=False),
        buckets={
            "uploads": str(output("upload", "UploadsBucketName")),
            "transcoded": str(output("transcode", "TranscodedBucketName")),
        },
        tables={"catalog": str(output("metadata", "CatalogTableName"))},
        queues=[queue.name for queue in topology.queues],  # (not outputs: the templates name them by stage)
    )
