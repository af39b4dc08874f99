"""The committed OpenAPI document of the HTTP API is the one the declarations give, and a valid OpenAPI 3.1.

Clients and the website rely on shared/openapi.json; `make openapi` rewrites it from the services'
serverless.yml routes and their handlers' @route declarations (tools/openapi.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from infra import load
from tools.openapi import document, render, route_spec

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "shared" / "openapi.json"


@pytest.fixture(scope="module")
def generated() -> str:
    return render(load("local"))


def test_the_committed_document_is_the_generated_one(generated: str):
    assert COMMITTED.read_text() == generated, "shared/openapi.json is stale: run `make openapi` and commit it"


def test_it_is_valid_openapi_31(generated: str):
    validate(json.loads(generated))


def test_it_lists_every_route_of_every_service_behind_the_authorizer_but_the_declared_public_ones():
    topology = load("local")
    paths = document(topology)["paths"]
    declared = {(r.method.lower(), re.sub(r"\{(\w+)\+\}", r"{\1}", r.path)) for r in topology.routes}
    assert {(method, path) for path, ops in paths.items() for method in ops} == declared
    for route in topology.routes:
        # a route without the authorizer is one whose handler says it is public (@route(public=True)), and back
        assert route_spec(topology, route).public == (route.authorizer is None), f"{route.method} {route.path}"
    public = {
        ("get", "/playback/{grant}/{path}"),
        ("get", "/shared/{share_id}"),
        ("get", "/public/videos"),
        ("post", "/views"),
        ("get", "/oembed"),
    }
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert "500" in operation["responses"]
            if (method, path) in public:
                assert operation["security"] == [] and "401" not in operation["responses"]
                continue
            assert operation["security"] == [{"bearer": []}], f"{method} {path} is not behind the authorizer"
            assert "401" in operation["responses"]


def test_refusals_bodies_and_parameters_come_from_the_route_declarations():
    paths = document(load("local"))["paths"]
    complete = paths["/uploads/{video_id}/complete"]["post"]
    assert set(complete["responses"]) == {"200", "400", "401", "404", "409", "413", "500"}
    assert complete["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CompleteUpload"
    }
    assert complete["parameters"][0] | {"schema": None} == {"name": "video_id", "in": "path", "required": True,
                                                             "schema": None}  # fmt: skip
    create = paths["/uploads"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert create == {"oneOf": [{"$ref": "#/components/schemas/UploadForm"},
                                {"$ref": "#/components/schemas/MultipartUpload"}]}  # fmt: skip
    listing = {p["name"]: p for p in paths["/videos"]["get"]["parameters"]}
    assert listing["limit"]["schema"] | {"default": None} == {"type": "integer", "minimum": 1, "maximum": 50,
                                                              "default": None}  # fmt: skip
    assert "content" not in paths["/videos/{id}"]["delete"]["responses"]["204"]
