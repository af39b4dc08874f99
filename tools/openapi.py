"""The OpenAPI 3.1 document of the whole HTTP API, written from the services' own declarations.

Which routes exist (method, path, authorizer, function) comes from each service's serverless.yml;
what a route takes and answers comes from its handler's `lambdakit.http.route` declaration and the
contracts models. Nothing is written twice, so the document cannot drift from the code:

    python -m tools.openapi shared/openapi.json           # (re)write it: make openapi
    python -m tools.openapi --check shared/openapi.json   # exit 1 if the committed one is stale

tests/contracts/test_openapi.py runs the check in `make test`; `make up` serves the document at
/openapi.json on the API's port.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path
from types import UnionType
from typing import Any, Literal, get_args

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts.api import ApiError
from infra import ROOT, Route, Topology, load
from lambdakit.http import STATUS, RouteSpec
from lambdakit.refusals import Invalid

REF = "#/components/schemas/{model}"
ERRORS = {
    400: "Malformed or invalid input (the message says which field and why).",
    401: "No valid access token: missing, malformed, expired, or not for this API.",
    404: "No such resource for this caller (another user's looks the same as none).",
    409: "The resource is not in the state this request needs.",
    413: "What was sent is over the maximum this API accepts.",
    500: "Something failed on our side; the details are in the logs, never in the answer.",
}


def route_spec(topology: Topology, route: Route) -> RouteSpec:
    """The `@route` declaration of the function serving a route."""
    function = topology.invocables[route.function]
    spec = getattr(function.load_handler(), "route", None)
    if not isinstance(spec, RouteSpec):
        raise SystemExit(f"{function.key} ({function.handler}) serves {route.method} {route.path} without @route")
    return spec


def _models(answers: type[BaseModel] | UnionType | None) -> list[type[BaseModel]]:
    if answers is None:
        return []
    return list(get_args(answers)) if isinstance(answers, UnionType) else [answers]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _content(models: list[type[BaseModel]]) -> dict[str, Any]:
    schema = _ref(models[0]) if len(models) == 1 else {"oneOf": [_ref(m) for m in models]}
    return {"application/json": {"schema": schema}}


def _parameters(route: Route, spec: RouteSpec) -> list[dict[str, Any]]:
    if spec.params is None:
        return []
    schema = spec.params.model_json_schema()
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        in_path = f"{{{name}}}" in route.path or f"{{{name}+}}" in route.path
        options = [o for o in field_schema.pop("anyOf", []) if o.get("type") != "null"]  # absent is "null" here
        field_schema |= options[0] if len(options) == 1 else {"anyOf": options} if options else {}
        if field_schema.get("default", "") is None:
            del field_schema["default"]
        parameter = {
            "name": name,
            "in": "path" if in_path else "query",
            "required": in_path or name in schema.get("required", []),
            "schema": {k: v for k, v in field_schema.items() if k not in ("title", "description")},
        }
        if field_schema.get("description"):
            parameter["description"] = field_schema["description"]
        parameters.append(parameter)
    return parameters


def _responses(route: Route, spec: RouteSpec) -> dict[str, Any]:
    models = _models(spec.answers)
    success: dict[str, Any] = {"description": spec.summary or "Done."}
    if models:
        success["content"] = _content(models)
    elif spec.media_types:  # text of its own type (lambdakit.http.Content)
        success["content"] = {media_type: {"schema": {"type": "string"}} for media_type in spec.media_types}
    statuses = {500} | {STATUS[kind] for kind in spec.refuses}
    if spec.body or spec.params or Invalid in spec.refuses:
        statuses.add(400)
    if route.authorizer:
        statuses.add(401)
    errors = {str(s): {"description": ERRORS[s], "content": _content([ApiError])} for s in sorted(statuses)}
    return {str(spec.status): success} | errors


def _operation(topology: Topology, route: Route, spec: RouteSpec) -> dict[str, Any]:
    function = topology.invocables[route.function]
    operation: dict[str, Any] = {
        "operationId": function.name,
        "summary": spec.summary,
        "tags": [function.service],
        "security": [{"bearer": []}] if route.authorizer else [],
    }
    if parameters := _parameters(route, spec):
        operation["parameters"] = parameters
    if spec.body:
        operation["requestBody"] = {"required": True, "content": _content([spec.body])}
    operation["responses"] = _responses(route, spec)
    return operation


def document(topology: Topology) -> dict[str, Any]:
    """The whole API: every httpApi route of every service, in path order."""
    paths: dict[str, dict[str, Any]] = {}
    inputs: set[type[BaseModel]] = set()
    outputs: set[type[BaseModel]] = {ApiError}
    for route in sorted(topology.routes, key=lambda r: (r.path, r.method)):
        spec = route_spec(topology, route)
        path = re.sub(r"\{(\w+)\+\}", r"{\1}", route.path)  # a greedy {name+} is a path parameter in OpenAPI
        paths.setdefault(path, {})[route.method.lower()] = _operation(topology, route, spec)
        inputs |= {spec.body} if spec.body else set()
        outputs |= set(_models(spec.answers))
    wanted: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (m, "validation") for m in sorted(inputs, key=lambda m: m.__name__)
    ]
    wanted += [(m, "serialization") for m in sorted(outputs, key=lambda m: m.__name__)]
    _, definitions = models_json_schema(wanted, ref_template=REF)
    version = tomllib.loads((ROOT / "shared" / "pyproject.toml").read_text())["project"]["version"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "24-Hour Video API",
            "version": version,
            "description": "Upload, catalog and profile routes of every service, behind one JWT authorizer "
            "(but for playback, whose link is its own authority). "
            "Generated from services/*/serverless.yml and the handlers' route declarations: "
            "python -m tools.openapi shared/openapi.json (make openapi).",
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "make up: the local stack"}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An RS256 access token of the configured issuer (Cognito, Auth0 or the local "
                    "issuer), verified by the auth service's authorizer.",
                }
            },
        },
    }


def render(topology: Topology) -> str:
    return json.dumps(document(topology), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="where the document lives, e.g. shared/openapi.json")
    parser.add_argument("--check", action="store_true", help="only say whether the committed document is current")
    args = parser.parse_args(argv)
    text = render(load("local"))
    if args.check:
        current = args.target.is_file() and args.target.read_text() == text
        print(f"{args.target} is {'current' if current else 'stale: run make openapi'}")
        return 0 if current else 1
    args.target.write_text(text)
    print(f"wrote {args.target} ({len(json.loads(text)['paths'])} paths)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
