"""Playback in the packaged templates: links are built on the API's own URL (or the stage's publicApiUrl), never on
a host a request names; the playback route reads the catalog (a deleted video stops playing at once); and with the
CDN, the deletion function may invalidate that one distribution, nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import SERVICES, load, ref_target, statements

pytestmark = pytest.mark.service("metadata", "transcode")

API_URL = {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}


def role_statements(template: Any, role: str) -> list[dict[str, Any]]:
    """Every statement a role may have: its own policies', and those of the policies attached to it."""
    policies = [*template.props(role).get("Policies", [])]
    policies += [
        p["Properties"]
        for p in template.of_type("AWS::IAM::Policy").values()
        if role in {ref_target(r) for r in p["Properties"].get("Roles", [])}
    ]
    return [s for p in policies for s in statements(p["PolicyDocument"])]


def actions(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_playback_links_are_on_the_apis_own_url_unless_the_stage_names_its_public_one():
    metadata = load("metadata")
    # The HTTP API's $default stage: its URL has no stage path
    assert metadata.props("HttpApiStage")["StageName"] == "$default"
    assert metadata.document["Conditions"]["HasPublicApiUrl"] == {"Fn::Not": [{"Fn::Equals": ["", ""]}]}
    for function in ("GetVideoLambdaFunction", "ServePlaybackLambdaFunction"):
        variables = metadata.props(function)["Environment"]["Variables"]
        assert variables["PUBLIC_API_URL"] == {"Fn::If": ["HasPublicApiUrl", "", API_URL]}, function


def test_the_playback_route_reads_the_catalog_and_get_video_issues_grants_in_its_own_table():
    metadata = load("metadata")
    serve = role_statements(metadata, "ServePlaybackIamRoleLambdaExecution")
    catalog = [s for s in serve if "CatalogTable" in str(s)]
    assert [(actions(s), s["Resource"]) for s in catalog] == [
        (["dynamodb:GetItem"], {"Fn::GetAtt": ["CatalogTable", "Arn"]})
    ]
    grants = [s for s in role_statements(metadata, "GetVideoIamRoleLambdaExecution") if "PlaybackGrantsTable" in str(s)]
    assert [(sorted(actions(s)), s["Resource"]) for s in grants] == [
        (["dynamodb:GetItem", "dynamodb:PutItem"], {"Fn::GetAtt": ["PlaybackGrantsTable", "Arn"]})
    ]


def test_with_the_cdn_the_deletion_function_may_invalidate_that_distribution_only():
    transcode = load("transcode")
    variables = transcode.props("DeleteRenditionsLambdaFunction")["Environment"]["Variables"]
    assert variables["PLAYBACK_DISTRIBUTION_ID"] == {"Fn::If": ["HasPlaybackCdn", {"Ref": "PlaybackDistribution"}, ""]}
    policy = transcode.resources["PlaybackInvalidationPolicy"]
    assert policy["Condition"] == "HasPlaybackCdn"
    assert [ref_target(r) for r in policy["Properties"]["Roles"]] == ["DeleteRenditionsIamRoleLambdaExecution"]
    assert statements(policy["Properties"]["PolicyDocument"]) == [
        {
            "Effect": "Allow",
            "Action": "cloudfront:CreateInvalidation",
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${PlaybackDistribution}"
            },
        }
    ]
    # The invalidated path is the object's key: the distribution's origin is the bucket's root
    [origin] = transcode.props("PlaybackDistribution")["DistributionConfig"]["Origins"]
    assert not origin.get("OriginPath")
    # And no other role of any service may invalidate anything
    for service in SERVICES:
        template = load(service)
        for logical_id in template.of_type("AWS::IAM::Role"):
            if (service, logical_id) == ("transcode", "DeleteRenditionsIamRoleLambdaExecution"):
                continue
            granted = [a for s in role_statements(template, logical_id) for a in actions(s)]
            assert not [a for a in granted if a.startswith("cloudfront:")], (service, logical_id)
