"""What the services declare for running in production, read from their serverless.yml through the deployment model
(infra) for a stage and its params, without packaging: retention per stage, the sources' lifecycle, the budget, the
API limits, cached authorizers and the transcode's event-source concurrency. (The alarms and the dashboard are made
at package time: tests/infra/test_operations_plugin.py and test_rules.py check them.)"""

from __future__ import annotations

from typing import Any

import pytest

from infra import REGION, ROOT, load, load_yaml
from infra.cloudformation import Template
from infra.serverless import Variables

pytestmark = pytest.mark.service("upload", "transcode", "metadata", "auth", "notify", "tools")

USER_DATA = {
    "upload": ["UploadsBucket"],
    "transcode": ["TranscodedBucket", "DeletedVideosTable"],
    "metadata": ["CatalogTable"],
    "auth": ["ProfilesTable"],
    "notify": ["RecipientsTable", "MailOnceTable"],
}
HTTP_SERVICES = ("auth", "upload", "metadata")


def declared(service: str, stage: str = "prod", **params: str) -> dict[str, Any]:
    """A service's serverless.yml with its variables resolved for a stage, its default params overridden."""
    folder = ROOT / "services" / service
    raw = load_yaml(folder / "serverless.yml")
    return Variables(raw, stage, REGION, raw["params"]["default"] | params, folder).resolve(raw)


def stack(config: dict[str, Any]) -> Template:
    """The service's resources as CloudFormation would evaluate them (its conditions, the earlier stacks' exports)."""
    resources = config["resources"]
    exports = load("local").exports
    return Template(config["service"], resources["Resources"], exports, conditions=resources.get("Conditions", {}))


@pytest.mark.parametrize(("stage", "policy"), [("prod", "Retain"), ("staging", "Retain"), ("ci", "Delete"),
                                               ("dev", "Delete"), ("local", "Delete"), ("test", "Delete")])  # fmt: skip
def test_users_data_is_retained_unless_the_stage_is_a_throw_away_one(stage: str, policy: str):
    for service, logical_ids in USER_DATA.items():
        resources = declared(service, stage)["resources"]["Resources"]
        for logical_id in logical_ids:
            got = (resources[logical_id].get("DeletionPolicy"), resources[logical_id].get("UpdateReplacePolicy"))
            assert got == (policy, policy), (service, logical_id, stage)


def lifecycle(**params: str) -> dict[str, dict[str, Any]]:
    config = declared("upload", **params)
    rules = stack(config).evaluate(config["resources"]["Resources"]["UploadsBucket"]["Properties"])
    return {rule["Id"]: rule for rule in rules["LifecycleConfiguration"]["Rules"]}


def test_sources_go_cold_after_the_stages_days_and_expire_only_when_it_says_so():
    rules = lifecycle()
    assert set(rules) == {"AbortIncompleteMultipartUploads", "SourcesGoCold"}  # by default: kept forever
    assert rules["SourcesGoCold"]["Prefix"] == "uploads/"
    assert rules["SourcesGoCold"]["Transitions"] == [{"StorageClass": "GLACIER_IR", "TransitionInDays": 30}]
    rules = lifecycle(sourceColdAfterDays="60", sourceColdStorageClass="STANDARD_IA", sourceExpireAfterDays="365")
    assert rules["SourcesGoCold"]["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": "60"}]
    assert rules["SourcesExpire"] == {
        "Id": "SourcesExpire",
        "Status": "Enabled",
        "Prefix": "uploads/",
        "ExpirationInDays": "365",
    }


def test_renditions_are_intelligently_tiered_and_tables_of_lasting_data_recoverable():
    [rule] = declared("transcode")["resources"]["Resources"]["TranscodedBucket"]["Properties"][
        "LifecycleConfiguration"
    ]["Rules"]
    assert (rule["Prefix"], rule["Transitions"]) == ("videos/", [{"StorageClass": "INTELLIGENT_TIERING",
                                                                  "TransitionInDays": 0}])  # fmt: skip
    lasting = {"metadata": ["CatalogTable"], **{s: ids for s, ids in USER_DATA.items() if s != "metadata"}}
    for service, logical_ids in lasting.items():
        resources = declared(service)["resources"]["Resources"]
        for logical_id in (i for i in logical_ids if resources[i]["Type"] == "AWS::DynamoDB::Table"):
            recovery = resources[logical_id]["Properties"].get("PointInTimeRecoverySpecification")
            assert recovery == {"PointInTimeRecoveryEnabled": True}, (service, logical_id)


@pytest.mark.parametrize(
    ("params", "exists"),
    [({}, False), ({"monthlyBudgetUsd": "200"}, False), ({"budgetEmail": "ops@example.com"}, False),
     ({"monthlyBudgetUsd": "200", "budgetEmail": "ops@example.com"}, True)],
)  # fmt: skip
def test_the_monthly_budget_exists_only_with_an_amount_and_an_address(params: dict[str, str], exists: bool):
    config = declared("metadata", **params)
    template = stack(config)
    budget = config["resources"]["Resources"]["MonthlyBudget"]
    assert template.exists(budget) is exists
    if exists:
        properties = template.evaluate(budget["Properties"])
        assert properties["Budget"]["BudgetLimit"] == {"Amount": "200", "Unit": "USD"}
        assert properties["Budget"]["TimeUnit"] == "MONTHLY"
        alerts = properties["NotificationsWithSubscribers"]
        assert {(a["Notification"]["NotificationType"], a["Notification"]["Threshold"]) for a in alerts} == {
            ("ACTUAL", 80),
            ("FORECASTED", 100),
        }
        assert all(a["Subscribers"] == [{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}] for a in alerts)


def test_every_api_is_throttled_by_its_stage_params():
    for service, stage in [*((s, "HttpApiStage") for s in HTTP_SERVICES), ("notify", "WebsocketsDeploymentStage")]:
        settings = declared(service)["resources"]["extensions"][stage]["Properties"]["DefaultRouteSettings"]
        assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (50, 100), service
        settings = declared(service, apiRateLimit="5", apiBurstLimit="10")["resources"]["extensions"][stage]
        assert settings["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"] == "5", service


def test_the_http_apis_log_every_request_and_cache_their_authorizers_answers_by_token():
    for service in HTTP_SERVICES:
        provider = declared(service)["provider"]
        line = provider["logs"]["httpApi"]["format"]
        for field in ("$context.requestId", "$context.authorizer.sub", "$context.routeKey", "$context.status",
                      "$context.responseLatency"):  # fmt: skip
            assert field in line, (service, field)
        for authorizer in provider["httpApi"]["authorizers"].values():
            assert authorizer["resultTtlInSeconds"] == 300, service
            assert authorizer["identitySource"] == "$request.header.Authorization", service


def test_the_local_gateway_still_reads_every_cached_authorizer():
    """The local stack ignores the cache (every request is authorized afresh) but still guards every route."""
    topology = load("local")
    guarded = [route for route in topology.routes if route.authorizer]
    assert guarded and all(route.authorizer == "auth-authorizer" for route in guarded)
    assert all(route.identity_source == "$request.header.Authorization" for route in guarded)


def test_every_transcode_queue_consumer_bounds_its_concurrency_by_a_stage_param():
    functions = declared("transcode", startConcurrency="3")["functions"]
    bounds = {name: event["sqs"].get("maximumConcurrency") for name, f in functions.items() for event in f["events"]}
    assert bounds == {"startTranscode": "3", "mediaTasks": 100, "deleteRenditions": 5}
