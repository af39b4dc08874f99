"""The infrastructure rules of ARCHITECTURE.md, checked on the generated templates."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from contracts.events import TOMBSTONE_LIFETIME
from tests.infra import operations_rules, site_rules, workflow_rules
from tests.infra.conftest import ROOT, Template, package_service, ref_target, statements

FOURTEEN_DAYS = 14 * 24 * 3600


def dead_letter_queues(template: Template) -> set[str]:
    return {
        ref_target(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in template.of_type("AWS::SQS::Queue").values()
        if "RedrivePolicy" in q.get("Properties", {})
    }


def test_every_queue_has_a_dlq_with_five_receives_and_dlqs_keep_14_days(template: Template):
    dlqs = dead_letter_queues(template)
    for logical_id, queue in template.of_type("AWS::SQS::Queue").items():
        props = queue.get("Properties", {})
        if logical_id in dlqs:
            assert props.get("MessageRetentionPeriod") == FOURTEEN_DAYS, f"{logical_id} keeps less than 14 days"
            continue
        redrive = props.get("RedrivePolicy")
        assert redrive, f"{template.service}: {logical_id} has no DLQ"
        assert int(redrive["maxReceiveCount"]) >= 5, logical_id


def test_every_dlq_has_an_alarm_on_visible_messages(template: Template):
    watched = {
        ref_target(d["Value"])
        for alarm in template.of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        for d in alarm["Properties"]["Dimensions"]
        if d["Name"] == "QueueName"
    }
    assert dead_letter_queues(template) <= watched


def test_every_alarm_notifies_the_services_alarm_topic(template: Template):
    topics = set(template.of_type("AWS::SNS::Topic"))
    for logical_id, alarm in template.of_type("AWS::CloudWatch::Alarm").items():
        actions = alarm["Properties"].get("AlarmActions", [])
        assert actions and all(ref_target(a) in topics for a in actions), f"{logical_id} notifies nobody"


def test_a_notification_email_is_an_optional_stage_param():
    from tests.infra.conftest import load

    template = load("metadata")
    [subscription] = [
        v for v in template.of_type("AWS::SNS::Subscription").values() if v["Properties"]["Protocol"] == "email"
    ]
    assert ref_target(subscription["Properties"]["TopicArn"]) == "CatalogEventsTopic"
    condition = template.document["Conditions"][subscription["Condition"]]
    assert condition == {"Fn::Not": [{"Fn::Equals": ["", ""]}]}  # the default stage: no address, no subscription


def test_every_sns_to_sqs_subscription_has_a_redrive_dlq_and_a_topic_scoped_queue_policy(template: Template):
    for logical_id, subscription in template.of_type("AWS::SNS::Subscription").items():
        props = subscription["Properties"]
        if props["Protocol"] != "sqs":
            continue
        assert "deadLetterTargetArn" in props.get("RedrivePolicy", {}), f"{logical_id} has no redrive DLQ"
        queue = ref_target(props["Endpoint"])
        if queue is None:  # a queue of another service (imported): its owner's template holds the policy
            continue
        policies = [
            p["Properties"]
            for p in template.of_type("AWS::SQS::QueuePolicy").values()
            if queue in {ref_target(q) for q in p["Properties"]["Queues"]}
        ]
        assert policies, f"{logical_id}: no queue policy for {queue}"
        statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
        scoped = [s for s in statements if s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")]
        assert scoped and all(s["Principal"] == {"Service": "sns.amazonaws.com"} for s in scoped), logical_id


def test_queue_visibility_is_six_times_the_function_timeout_and_failures_are_reported(template: Template):
    for mapping in template.of_type("AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        assert props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
        queue = template.props(ref_target(props["EventSourceArn"]))
        function = template.props(ref_target(props["FunctionName"]))
        assert int(queue["VisibilityTimeout"]) >= 6 * int(function["Timeout"])


def test_buckets_block_public_access_deny_plain_http_and_encrypt(template: Template):
    for logical_id, bucket in template.of_type("AWS::S3::Bucket").items():
        props = bucket["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values()), logical_id
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], logical_id
        policies = [
            p["Properties"]["PolicyDocument"]
            for p in template.of_type("AWS::S3::BucketPolicy").values()
            if ref_target(p["Properties"]["Bucket"]) == logical_id
        ]
        denies_http = [
            s
            for doc in policies
            for s in statements(doc)
            if s["Effect"] == "Deny"
            and str(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"
        ]
        assert denies_http, f"{logical_id} accepts plain HTTP"


def test_the_uploads_bucket_expires_incomplete_multipart_uploads():
    from tests.infra.conftest import load

    rules = load("upload").props("UploadsBucket")["LifecycleConfiguration"]["Rules"]
    assert any(r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") for r in rules)


def test_the_uploads_bucket_lets_the_website_post_forms_put_parts_and_read_their_etags():
    from tests.infra.conftest import load

    [rule] = load("upload").props("UploadsBucket")["CorsConfiguration"]["CorsRules"]
    assert set(rule["AllowedMethods"]) == {"POST", "PUT"}
    assert rule["AllowedHeaders"] == ["*"]
    assert "ETag" in rule["ExposedHeaders"]  # POST /uploads/{video_id}/complete needs each part's ETag
    assert rule["AllowedOrigins"] == ["*"]  # the webOrigin param's default


def test_one_role_per_function_and_no_wildcard_actions(template: Template):
    roles = [ref_target(f["Properties"]["Role"]) for f in template.of_type("AWS::Lambda::Function").values()]
    assert len(roles) == len(set(roles)), f"{template.service}: functions share a role"
    # a role's own policies, and the policies attached to it on their own (e.g. only when a stage param is set)
    attached = [p["Properties"] for p in template.of_type("AWS::IAM::Policy").values()]
    for logical_id in roles:
        policies = [*template.props(logical_id).get("Policies", [])]
        policies += [p for p in attached if logical_id in {ref_target(r) for r in p.get("Roles", [])}]
        for policy in policies:
            for statement in statements(policy["PolicyDocument"]):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert not [a for a in actions if a == "*" or a.endswith(":*")], f"{logical_id}: {actions}"
                resources = statement.get("Resource")
                if "*" in (resources if isinstance(resources, list) else [resources]):  # "*" or ["*", ...]
                    assert set(actions) <= RESOURCELESS, f"{logical_id}: {json.dumps(statement)[:200]}"


# Actions that take no resource, so "*" is their only form (active tracing's)
RESOURCELESS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def scoped(value: object, template: Template) -> bool:
    """A resource of this stack (Ref, GetAtt, Sub of one), an import from another video24 service, or ours by name."""
    if not isinstance(value, dict):
        return False
    if "Ref" in value or "Fn::GetAtt" in value:
        return ref_target(value) in template.resources
    if "Fn::ImportValue" in value:
        return "video24-" in json.dumps(value)
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        names = re.findall(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}", text)
        return any(name in template.resources for name in names) or "video24-" in text
    if "Fn::Join" in value:
        return any(scoped(part, template) for part in value["Fn::Join"][1])
    return False


def test_function_roles_name_only_resources_from_this_stack_or_granted_exports(template: Template):
    for function in template.of_type("AWS::Lambda::Function").values():
        role = ref_target(function["Properties"]["Role"])
        for policy in template.props(role).get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                for resource in resources:
                    if resource == "*" and set(actions) <= RESOURCELESS:
                        continue  # what takes no resource (the previous test allows only that with "*")
                    assert scoped(resource, template), f"{role}: {json.dumps(resource)[:200]}"


def test_functions_have_timeout_memory_and_log_retention(template: Template):
    for logical_id, function in template.of_type("AWS::Lambda::Function").items():
        assert function["Properties"].get("Timeout") and function["Properties"].get("MemorySize"), logical_id
    for logical_id, group in template.of_type("AWS::Logs::LogGroup").items():
        assert group["Properties"].get("RetentionInDays"), logical_id


# cfn-lint rules left out, and why:
CFN_LINT_IGNORED = {
    # The framework and the per-function IAM plugin add DependsOn entries that a GetAtt/Ref already
    # implies (e.g. a function's DependsOn its own role). Redundant, harmless, not ours to change.
    "W3005": "redundant DependsOn generated by the framework",
    # The notification e-mail is a Serverless stage param, resolved when packaging, so the condition
    # that adds the e-mail subscription compares two constants. That is the point: per stage, yes or no.
    "W8003": "condition on a stage param resolved at package time",
    # The website's SiteConfig output is config.json, built from the HTTP APIs' URLs that their services
    # export; W6001 warns of an output made of imports (a re-export), which this is not (it exports nothing).
    "W6001": "the website's config.json output is made of the APIs' imported URLs",
}


def cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).parent / "cfn-lint"
    return subprocess.run(
        [str(lint), "--ignore-checks", *CFN_LINT_IGNORED, "--", str(path)], capture_output=True, text=True, check=False
    )


def test_cfn_lint_passes(template: Template):
    path = ROOT / "services" / template.service / ".serverless" / "cloudformation-template-update-stack.json"
    done = cfn_lint(path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_tombstones_outlive_every_message_and_expire_by_ttl():
    """A deleted video's tombstone must outlast any message that could bring it back (one waiting in a DLQ)."""
    from tests.infra.conftest import SERVICES, load

    longest = max(
        int(queue.get("Properties", {}).get("MessageRetentionPeriod", 345600))  # SQS's default: 4 days
        for service in SERVICES
        for queue in load(service).of_type("AWS::SQS::Queue").values()
    )
    assert TOMBSTONE_LIFETIME.total_seconds() > longest
    for service, table in (("metadata", "CatalogTable"), ("transcode", "DeletedVideosTable")):
        ttl = load(service).props(table).get("TimeToLiveSpecification")
        assert ttl == {"AttributeName": "expires_at", "Enabled": True}, f"{service}: {table} keeps tombstones forever"


# --- Step Functions state machines (tests/infra/workflow_rules.py; each rule has unit tests in tests/unit) ---


@pytest.mark.parametrize("rule", workflow_rules.RULES, ids=lambda rule: rule.__name__)
def test_every_state_machine_keeps_the_workflow_rules(template: Template, rule: Callable[[Template], list[str]]):
    assert rule(template) == [], f"{template.service}: {rule.__doc__}"


def test_the_example_workflow_packages_and_keeps_the_rules_and_cfn_lint(tmp_path: Path):
    """tests/workflows.py, packaged by osls as `make package` packages a service: the rules and cfn-lint hold."""
    from tests.workflows import SERVICE

    path = package_service(tmp_path, SERVICE, "flow")
    template = Template("flow", json.loads(path.read_text()))
    assert template.of_type(workflow_rules.STATE_MACHINE)
    assert [problem for rule in workflow_rules.RULES for problem in rule(template)] == []
    linted = cfn_lint(path)
    assert linted.returncode == 0, linted.stdout + linted.stderr


# --- Buckets and CloudFront distributions (tests/infra/site_rules.py; each rule has unit tests in tests/unit) ---


@pytest.mark.parametrize("rule", site_rules.RULES, ids=lambda rule: rule.__name__)
def test_every_bucket_and_distribution_keeps_the_site_rules(template: Template, rule: Callable[[Template], list[str]]):
    assert rule(template) == [], f"{template.service}: {rule.__doc__}"


def test_the_website_is_one_private_bucket_behind_one_site_distribution_with_its_headers():
    """What the site rules are about is there (a rule over nothing holds too)."""
    from tests.infra.conftest import load

    web = load("web")
    [(site, config)] = site_rules.sites(web).items()
    [origin] = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    assert ref_target(origin["OriginAccessControlId"]) in web.of_type(site_rules.ORIGIN_ACCESS_CONTROL)
    paths = {path for path, _ in site_rules.behaviours(config)}
    assert paths == {"default", site_rules.FRAMED_PATH, "/index.html", "/config.json"}
    assert all(b["ViewerProtocolPolicy"] == "redirect-to-https" for _, b in site_rules.behaviours(config))
    [read] = [s for s in statements(web.props("SiteBucketPolicy")["PolicyDocument"]) if s["Effect"] == "Allow"]
    assert read["Principal"] == site_rules.CLOUDFRONT and read["Action"] == "s3:GetObject"
    assert f"distribution/${{{site}}}" in read["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]


# --- Running it: alarms, dashboard, API limits, recovery and retention (tests/infra/operations_rules.py; each rule
# is broken once in tests/infra/test_operations_plugin.py) ---


@pytest.mark.parametrize("rule", operations_rules.RULES, ids=lambda rule: rule.__name__)
def test_every_template_keeps_the_operations_rules(template: Template, rule: Callable[[Template], list[str]]):
    assert rule(template) == [], f"{template.service}: {rule.__doc__}"


def test_what_the_operations_rules_are_about_is_there():
    """A rule over nothing holds too: the APIs, authorizers, workflow and users' data are in the templates."""
    from tests.infra.conftest import SERVICES, load

    templates = {service: load(service) for service in SERVICES}
    apis = {s for s, t in templates.items() if t.of_type("AWS::ApiGatewayV2::Api")}
    assert apis == {"auth", "upload", "metadata", "notify"}
    assert {s for s, t in templates.items() if t.of_type("AWS::CloudWatch::Dashboard")} == SERVICES_WITH_FUNCTIONS
    assert templates["transcode"].of_type("AWS::StepFunctions::StateMachine")
    assert all(templates[s].of_type("AWS::ApiGatewayV2::Authorizer") for s in ("auth", "upload", "metadata"))
    # make package packages stage ci: a throw-away stage, so its users' data goes with the stack
    for service, logical_id in USER_DATA:
        resource = templates[service].resources[logical_id]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Delete", "Delete"), logical_id


SERVICES_WITH_FUNCTIONS = {"auth", "upload", "transcode", "metadata", "notify"}
USER_DATA = (
    ("upload", "UploadsBucket"),
    ("transcode", "TranscodedBucket"),
    ("metadata", "CatalogTable"),
    ("auth", "ProfilesTable"),
    ("notify", "RecipientsTable"),
)


def test_sources_go_cold_and_expire_only_when_a_stage_says_so_and_outputs_are_intelligently_tiered():
    from tests.infra.conftest import load

    upload = load("upload")
    rules = {r["Id"]: r for r in upload.props("UploadsBucket")["LifecycleConfiguration"]["Rules"] if "Id" in r}
    [cold] = rules["SourcesGoCold"]["Transitions"]
    assert rules["SourcesGoCold"]["Prefix"] == "uploads/"
    assert cold == {"StorageClass": "GLACIER_IR", "TransitionInDays": 30}  # the params' defaults
    [expiring] = [r for r in upload.props("UploadsBucket")["LifecycleConfiguration"]["Rules"] if "Fn::If" in r]
    assert expiring["Fn::If"][0] == "ExpiresSources" and expiring["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert upload.document["Conditions"]["ExpiresSources"] == {"Fn::Not": [{"Fn::Equals": ["", ""]}]}  # default: off
    [tiering] = load("transcode").props("TranscodedBucket")["LifecycleConfiguration"]["Rules"]
    assert tiering["Prefix"] == "videos/"
    assert tiering["Transitions"] == [{"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 0}]


def test_the_transcode_event_sources_bound_their_concurrency():
    from tests.infra.conftest import load

    transcode = load("transcode")
    for mapping in transcode.of_type("AWS::Lambda::EventSourceMapping").values():
        assert mapping["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency", 0) >= 2, mapping
