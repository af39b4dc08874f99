"""The bucket and CloudFront rules of tests/infra/site_rules.py find what they are about (and pass a good site).

Each test breaks one thing in a small hand-written template of a website that keeps every rule, and expects
exactly that rule to complain: a rule that stopped looking fails here, not silently on the packaged templates.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.conftest import Template
from tests.infra.site_rules import (
    RULES,
    bucket_access_problems,
    origin_access_problems,
    security_headers_problems,
    viewer_protocol_problems,
)

pytestmark = pytest.mark.service("tools")

Rule = Callable[[Template], list[str]]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https://*.s3.amazonaws.com; "
    "media-src 'self' blob: https://*.s3.amazonaws.com; "
    "connect-src 'self' https://*.execute-api.eu-west-1.amazonaws.com; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
SITE_BUCKET_ARN = {"Fn::GetAtt": ["SiteBucket", "Arn"]}


def behaviour(**fields: Any) -> dict[str, Any]:
    return {
        "TargetOriginId": "site",
        "ViewerProtocolPolicy": "redirect-to-https",
        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        "ResponseHeadersPolicyId": {"Ref": "Headers"},
        **fields,
    }


def good() -> dict[str, Any]:
    """A website that keeps every rule: a private bucket that only its distribution reads, through an OAC."""
    return {
        "Resources": {
            "SiteBucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": "site",
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                },
            },
            "SiteBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "SiteBucket"},
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [SITE_BUCKET_ARN, {"Fn::Sub": "${SiteBucket.Arn}/*"}],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            },
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Action": "s3:GetObject",
                                "Resource": {"Fn::Sub": "${SiteBucket.Arn}/*"},
                                "Condition": {
                                    "StringEquals": {
                                        "AWS:SourceArn": {
                                            "Fn::Sub": "arn:aws:cloudfront::${AWS::AccountId}:distribution/${Site}"
                                        }
                                    }
                                },
                            },
                        ]
                    },
                },
            },
            "Access": {
                "Type": "AWS::CloudFront::OriginAccessControl",
                "Properties": {
                    "OriginAccessControlConfig": {
                        "Name": "site",
                        "OriginAccessControlOriginType": "s3",
                        "SigningBehavior": "always",
                        "SigningProtocol": "sigv4",
                    }
                },
            },
            "Headers": {
                "Type": "AWS::CloudFront::ResponseHeadersPolicy",
                "Properties": {
                    "ResponseHeadersPolicyConfig": {
                        "Name": "site",
                        "SecurityHeadersConfig": {
                            "ContentSecurityPolicy": {"ContentSecurityPolicy": CSP, "Override": True},
                            "StrictTransportSecurity": {"AccessControlMaxAgeSec": 63072000, "Override": True},
                            "ContentTypeOptions": {"Override": True},
                            "FrameOptions": {"FrameOption": "DENY", "Override": True},
                            "ReferrerPolicy": {"ReferrerPolicy": "strict-origin-when-cross-origin", "Override": True},
                        },
                    }
                },
            },
            # the embed page's: the same but for framing (no frame-ancestors 'none', no X-Frame-Options)
            "EmbedHeaders": {
                "Type": "AWS::CloudFront::ResponseHeadersPolicy",
                "Properties": {
                    "ResponseHeadersPolicyConfig": {
                        "Name": "embed",
                        "SecurityHeadersConfig": {
                            "ContentSecurityPolicy": {
                                "ContentSecurityPolicy": CSP.replace("frame-ancestors 'none'", "frame-ancestors *"),
                                "Override": True,
                            },
                            "StrictTransportSecurity": {"AccessControlMaxAgeSec": 63072000, "Override": True},
                            "ContentTypeOptions": {"Override": True},
                            "ReferrerPolicy": {"ReferrerPolicy": "strict-origin-when-cross-origin", "Override": True},
                        },
                    }
                },
            },
            "Site": {
                "Type": "AWS::CloudFront::Distribution",
                "Properties": {
                    "DistributionConfig": {
                        "Enabled": True,
                        "DefaultRootObject": "index.html",
                        "Origins": [
                            {
                                "Id": "site",
                                "DomainName": {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]},
                                "OriginAccessControlId": {"Fn::GetAtt": ["Access", "Id"]},
                                "S3OriginConfig": {"OriginAccessIdentity": ""},
                            }
                        ],
                        "DefaultCacheBehavior": behaviour(),
                        "CacheBehaviors": [
                            behaviour(PathPattern="/index.html"),
                            behaviour(PathPattern="/embed/*", ResponseHeadersPolicyId={"Ref": "EmbedHeaders"}),
                        ],
                    }
                },
            },
        }
    }


def broken(change: Callable[[dict[str, Any]], Any]) -> Template:
    document = copy.deepcopy(good())
    change(document["Resources"])
    return Template("web", document)


def problems(template: Template) -> dict[str, list[str]]:
    """Which rules complain, and what they say."""
    return {rule.__name__: found for rule in RULES if (found := rule(template))}


def blocks(r: dict[str, Any]) -> dict[str, Any]:
    return r["SiteBucket"]["Properties"]["PublicAccessBlockConfiguration"]


def read(r: dict[str, Any]) -> dict[str, Any]:
    """The bucket policy's statement that lets the distribution read."""
    return r["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][1]


def config(r: dict[str, Any]) -> dict[str, Any]:
    return r["Site"]["Properties"]["DistributionConfig"]


def origin(r: dict[str, Any]) -> dict[str, Any]:
    return config(r)["Origins"][0]


def security(r: dict[str, Any]) -> dict[str, Any]:
    return r["Headers"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]


def with_csp(text: str) -> Callable[[dict[str, Any]], None]:
    return lambda r: security(r)["ContentSecurityPolicy"].update(ContentSecurityPolicy=text)


def embed_security(r: dict[str, Any]) -> dict[str, Any]:
    return r["EmbedHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]


def framed_at(path: str) -> Callable[[dict[str, Any]], None]:
    """The embed page's policy (any site may frame it) on another behaviour too."""

    def change(r: dict[str, Any]) -> None:
        framable = {"Ref": "EmbedHeaders"}
        if path == "default":
            config(r)["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] = framable
        else:
            config(r)["CacheBehaviors"].append(behaviour(PathPattern=path, ResponseHeadersPolicyId=framable))

    return change


def test_a_good_site_keeps_every_rule():
    assert problems(Template("web", good())) == {}


def test_no_bucket_or_distribution_no_problem():
    assert problems(Template("web", {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})) == {}


def test_a_csp_filled_in_at_deploy_keeps_the_rules_when_no_script_source_is():
    """The website's connect-src names the WebSocket API that notify exports: an Fn::Sub of the CSP."""
    csp = CSP.replace("connect-src 'self'", "connect-src 'self' ${PushOrigins}")
    sub = {"Fn::Sub": [csp, {"PushOrigins": {"Fn::ImportValue": "video24-notify-dev-WebsocketUrl"}}]}
    assert problems(broken(lambda r: security(r)["ContentSecurityPolicy"].update(ContentSecurityPolicy=sub))) == {}


def test_a_csp_with_only_default_src_covers_scripts_and_objects():
    csp = "default-src 'none'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    assert problems(broken(with_csp(csp))) == {}


@pytest.mark.parametrize(
    ("change", "rule", "says"),
    [
        # the bucket is private
        (lambda r: blocks(r).update(RestrictPublicBuckets=False), bucket_access_problems, "RestrictPublicBuckets"),
        (lambda r: blocks(r).pop("BlockPublicPolicy"), bucket_access_problems, "BlockPublicPolicy"),
        (
            lambda r: r["SiteBucket"]["Properties"].pop("PublicAccessBlockConfiguration"),
            bucket_access_problems,
            "public access not blocked",
        ),
        (lambda r: read(r).update(Principal="*"), bucket_access_problems, 'allows "*"'),
        (lambda r: read(r).update(Principal={"AWS": "*"}), bucket_access_problems, "allows"),
        (
            lambda r: read(r).update(Principal={"AWS": "arn:aws:iam::111122223333:root"}),
            bucket_access_problems,
            "only CloudFront",
        ),
        (lambda r: read(r).pop("Condition"), bucket_access_problems, "not limited to a distribution of this stack"),
        (
            lambda r: read(r)["Condition"]["StringEquals"].update(
                {"AWS:SourceArn": "arn:aws:cloudfront::111122223333:distribution/EOTHER"}
            ),
            bucket_access_problems,
            "not limited to a distribution of this stack",
        ),
        (
            lambda r: read(r).update(Condition={"StringLike": {"AWS:SourceArn": "arn:aws:cloudfront::*"}}),
            bucket_access_problems,
            "not limited to a distribution of this stack",
        ),
        (lambda r: read(r).update(Action="s3:*"), bucket_access_problems, "more than s3:GetObject"),
        (lambda r: read(r).update(Action=["s3:GetObject", "s3:PutObject"]), bucket_access_problems, "more than"),
        # the distribution reads it through an origin access control
        (lambda r: origin(r).pop("OriginAccessControlId"), origin_access_problems, "no origin access control"),
        (
            lambda r: origin(r)["S3OriginConfig"].update(
                OriginAccessIdentity="origin-access-identity/cloudfront/E127EXAMPLE51Z"
            ),
            origin_access_problems,
            "legacy origin access identity",
        ),
        (
            lambda r: r.update(Legacy={"Type": "AWS::CloudFront::CloudFrontOriginAccessIdentity", "Properties": {}}),
            origin_access_problems,
            "Legacy: a legacy origin access identity",
        ),
        (
            lambda r: r["Access"]["Properties"]["OriginAccessControlConfig"].update(SigningBehavior="no-override"),
            origin_access_problems,
            "not s3/always/sigv4",
        ),
        (
            lambda r: origin(r).update(
                DomainName="site.s3-website-us-east-1.amazonaws.com",
                CustomOriginConfig={"OriginProtocolPolicy": "http-only"},
            ),
            origin_access_problems,
            "bucket website endpoint",
        ),
        # HTTPS only
        (
            lambda r: config(r)["DefaultCacheBehavior"].update(ViewerProtocolPolicy="allow-all"),
            viewer_protocol_problems,
            "Site (default): ViewerProtocolPolicy allow-all",
        ),
        (
            lambda r: config(r)["CacheBehaviors"][0].update(ViewerProtocolPolicy="allow-all"),
            viewer_protocol_problems,
            "Site (/index.html)",
        ),
        # the security headers of a site
        (
            lambda r: config(r)["CacheBehaviors"][0].pop("ResponseHeadersPolicyId"),
            security_headers_problems,
            "(/index.html): no response headers policy of this stack",
        ),
        (
            lambda r: config(r)["DefaultCacheBehavior"].update(
                ResponseHeadersPolicyId="67f7725c-6f97-4210-82d7-5512b31e9d03"  # Managed-SecurityHeadersPolicy
            ),
            security_headers_problems,
            "(default): no response headers policy of this stack",
        ),
        (
            with_csp(CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")),
            security_headers_problems,
            "script-src allows [\"'unsafe-inline'\"]",
        ),
        (
            with_csp(CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'")),
            security_headers_problems,
            "'unsafe-eval'",
        ),
        (with_csp(CSP.replace("script-src 'self'", "script-src 'self' data:")), security_headers_problems, "data:"),
        (with_csp(CSP.replace("script-src 'self'", "script-src *")), security_headers_problems, "allows ['*']"),
        (
            with_csp(CSP.replace("script-src 'self'", "script-src https://*.example.com")),
            security_headers_problems,
            "https://*.example.com",
        ),
        (with_csp(CSP.replace("script-src 'self'", "script-src https:")), security_headers_problems, "https:"),
        (
            with_csp(CSP.replace("script-src 'self'", "Script-Src 'self' 'UNSAFE-INLINE'")),
            security_headers_problems,
            "UNSAFE-INLINE",
        ),
        (
            with_csp("img-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"),
            security_headers_problems,
            "neither script-src nor default-src",
        ),
        (
            with_csp(CSP.replace("default-src 'self'; script-src 'self'", "default-src 'unsafe-inline' 'self'")),
            security_headers_problems,
            "script-src allows",
        ),
        (with_csp(CSP.replace(" object-src 'none';", "")), security_headers_problems, "object-src is not 'none'"),
        (
            with_csp(CSP.replace("frame-ancestors 'none'", "frame-ancestors *")),
            security_headers_problems,
            "frame-ancestors is not 'none'",
        ),
        (with_csp(CSP.replace(" base-uri 'self';", "")), security_headers_problems, "no base-uri"),
        (
            lambda r: security(r)["ContentSecurityPolicy"].update(
                ContentSecurityPolicy={"Fn::Sub": CSP.replace("script-src 'self'", "script-src 'self' ${Sources}")}
            ),
            security_headers_problems,
            "script-src allows ['${Sources}']",
        ),
        (
            lambda r: security(r)["ContentSecurityPolicy"].update(ContentSecurityPolicy={"Fn::Join": ["", [CSP]]}),
            security_headers_problems,
            "no Content-Security-Policy that can be read",
        ),
        (
            lambda r: security(r).pop("ContentSecurityPolicy"),
            security_headers_problems,
            "ContentSecurityPolicy missing",
        ),
        (
            lambda r: security(r)["ContentSecurityPolicy"].update(Override=False),
            security_headers_problems,
            "not overriding the origin's",
        ),
        (lambda r: security(r).pop("StrictTransportSecurity"), security_headers_problems, "StrictTransportSecurity"),
        (
            lambda r: security(r)["StrictTransportSecurity"].update(AccessControlMaxAgeSec=300),
            security_headers_problems,
            "HSTS max-age under a year",
        ),
        (lambda r: security(r).pop("ContentTypeOptions"), security_headers_problems, "ContentTypeOptions missing"),
        (
            lambda r: security(r)["FrameOptions"].update(FrameOption="SAMEORIGIN"),
            security_headers_problems,
            "X-Frame-Options is not DENY",
        ),
        (
            lambda r: security(r)["ReferrerPolicy"].update(ReferrerPolicy="unsafe-url"),
            security_headers_problems,
            "Referrer-Policy",
        ),
        # only the embed page may be framed, and it keeps every other header
        (framed_at("default"), security_headers_problems, "Site (default) EmbedHeaders: the CSP's frame-ancestors"),
        (framed_at("default"), security_headers_problems, "Site (default) EmbedHeaders: X-Frame-Options is not DENY"),
        (framed_at("/v/*"), security_headers_problems, "Site (/v/*) EmbedHeaders: the CSP's frame-ancestors"),
        (framed_at("/embed*"), security_headers_problems, "(only /embed/* may be framed)"),
        (
            lambda r: embed_security(r)["ContentSecurityPolicy"].update(
                ContentSecurityPolicy=CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
            ),
            security_headers_problems,
            "Site (/embed/*) EmbedHeaders: the CSP's script-src allows",
        ),
        (
            lambda r: embed_security(r).pop("StrictTransportSecurity"),
            security_headers_problems,
            "Site (/embed/*) EmbedHeaders: StrictTransportSecurity missing",
        ),
        (
            lambda r: embed_security(r).update(FrameOptions={"FrameOption": "DENY", "Override": True}),
            security_headers_problems,
            "X-Frame-Options on the embed page",
        ),
        (
            lambda r: config(r)["CacheBehaviors"][1].pop("ResponseHeadersPolicyId"),
            security_headers_problems,
            "(/embed/*): no response headers policy of this stack",
        ),
    ],
)
def test_a_rule_finds_what_breaks_it(change: Callable[[dict[str, Any]], Any], rule: Rule, says: str):
    found = problems(broken(change))

    assert list(found) == [rule.__name__], found
    assert any(says in problem for problem in found[rule.__name__]), found


def test_a_distribution_that_is_not_a_site_needs_no_security_headers():
    """The playback CDN serves media (no DefaultRootObject): CORS headers, not a page's CSP."""

    def media_only(r: dict[str, Any]) -> None:
        del config(r)["DefaultRootObject"]
        config(r)["DefaultCacheBehavior"].pop("ResponseHeadersPolicyId")

    assert problems(broken(media_only)) == {}


def test_a_bucket_policy_allow_inside_a_condition_is_checked_too():
    """A statement only some stages have (Fn::If) is checked in both branches."""

    def conditional(r: dict[str, Any]) -> None:
        statement = read(r) | {"Principal": "*"}
        r["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][1] = {
            "Fn::If": ["HasCdn", statement, {"Ref": "AWS::NoValue"}]
        }

    assert "allows" in " ".join(bucket_access_problems(broken(conditional)))
