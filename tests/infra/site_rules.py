"""The rules every bucket and CloudFront distribution of a template keeps (tests/infra/test_rules.py applies them).

Each rule takes a template and returns its problems (empty: the rule holds), so tests/unit can show each one
failing on a small hand-written template. A *site* is a distribution with a DefaultRootObject (a website); only
sites need the security headers (the playback CDN serves media, not pages). Only a site's embed page (the
behaviour of FRAMED_PATH) may be framed by other sites.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.infra.conftest import Template, named, ref_target, statements

BUCKET = "AWS::S3::Bucket"
BUCKET_POLICY = "AWS::S3::BucketPolicy"
DISTRIBUTION = "AWS::CloudFront::Distribution"
ORIGIN_ACCESS_CONTROL = "AWS::CloudFront::OriginAccessControl"
ORIGIN_ACCESS_IDENTITY = "AWS::CloudFront::CloudFrontOriginAccessIdentity"
RESPONSE_HEADERS_POLICY = "AWS::CloudFront::ResponseHeadersPolicy"
CLOUDFRONT = {"Service": "cloudfront.amazonaws.com"}
PUBLIC_ACCESS_BLOCKS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
HTTPS_ONLY = {"redirect-to-https", "https-only"}
# What lets a page run script that is not one of its own files.
UNSAFE_SCRIPT_SOURCES = {
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'unsafe-hashes'",
    "data:",
    "blob:",
    "*",
    "http:",
    "https:",
}
STRICT_REFERRERS = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
ONE_YEAR = 365 * 24 * 3600
# The one path pattern whose pages other sites may put in an <iframe> (the embed page); every other answer refuses it.
FRAMED_PATH = "/embed/*"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _site_buckets(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id in template.of_type(BUCKET):
        if logical_id != "ServerlessDeploymentBucket":  # the framework's own
            yield logical_id, template.props(logical_id)


def _bucket_statements(template: Template, bucket: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.of_type(BUCKET_POLICY).values()
        if ref_target(policy["Properties"]["Bucket"]) == bucket
        for statement in statements(policy["Properties"]["PolicyDocument"])
    ]


def distributions(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, DistributionConfig) of each distribution."""
    for logical_id in template.of_type(DISTRIBUTION):
        yield logical_id, template.props(logical_id).get("DistributionConfig", {})


def sites(template: Template) -> dict[str, dict[str, Any]]:
    """The distributions that serve a website (they have a DefaultRootObject)."""
    return {logical_id: config for logical_id, config in distributions(template) if config.get("DefaultRootObject")}


def behaviours(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "default", config.get("DefaultCacheBehavior", {})
    for behaviour in config.get("CacheBehaviors", []):
        yield behaviour.get("PathPattern", "?"), behaviour


def csp_directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as directive -> sources (names lower-cased, the first of a repeated one)."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        tokens = part.split()
        if tokens:
            directives.setdefault(tokens[0].lower(), tokens[1:])
    return directives


# --- The rules ----------------------------------------------------------------------


def bucket_access_problems(template: Template) -> list[str]:
    """Buckets are private: all four public access blocks, and the only principal a bucket policy allows is
    CloudFront, for s3:GetObject, on the condition that the request comes from a distribution of this stack."""
    problems = []
    ours = set(template.of_type(DISTRIBUTION))
    for bucket, properties in _site_buckets(template):
        blocks = properties.get("PublicAccessBlockConfiguration") or {}
        if off := [name for name in PUBLIC_ACCESS_BLOCKS if blocks.get(name) is not True]:
            problems.append(f"{bucket}: public access not blocked ({', '.join(off)})")
        for statement in _bucket_statements(template, bucket):
            if statement.get("Effect") != "Allow":
                continue
            principal = statement.get("Principal")
            if principal != CLOUDFRONT:
                problems.append(f"{bucket}: allows {json.dumps(principal)} (only CloudFront may read a bucket)")
                continue
            if [a for a in _listed(statement.get("Action", [])) if a != "s3:GetObject"] or "NotAction" in statement:
                problems.append(f"{bucket}: CloudFront may do more than s3:GetObject: {statement.get('Action')}")
            conditions = statement.get("Condition") or {}
            sources = [
                value
                for operator in ("StringEquals", "ArnEquals")
                for key, value in (conditions.get(operator) or {}).items()
                if key.lower() == "aws:sourcearn"
            ]
            if not sources or not all(named(source) & ours for source in sources):
                problems.append(f"{bucket}: CloudFront's access is not limited to a distribution of this stack")
    return problems


def origin_access_problems(template: Template) -> list[str]:
    """Each distribution reads its buckets through an origin access control of this stack (s3, sigv4,
    signing always): no legacy origin access identity, no public bucket website endpoint."""
    problems = [f"{lid}: a legacy origin access identity" for lid in template.of_type(ORIGIN_ACCESS_IDENTITY)]
    buckets = set(template.of_type(BUCKET))
    for logical_id, config in distributions(template):
        for origin in config.get("Origins", []):
            domain = origin.get("DomainName")
            name = f"{logical_id}.{origin.get('Id')}"
            if "s3-website" in json.dumps(domain) or (
                isinstance(domain, dict) and domain.get("Fn::GetAtt", [None, None])[1] == "WebsiteURL"
            ):
                problems.append(f"{name}: a bucket website endpoint (public, plain HTTP)")
                continue
            if "S3OriginConfig" not in origin and not (named(domain) & buckets):
                continue  # not a bucket
            if (origin.get("S3OriginConfig") or {}).get("OriginAccessIdentity"):
                problems.append(f"{name}: reads the bucket through a legacy origin access identity")
            control = ref_target(origin.get("OriginAccessControlId"))
            resource = template.resources.get(control or "", {})
            if resource.get("Type") != ORIGIN_ACCESS_CONTROL:
                problems.append(f"{name}: no origin access control of this stack")
                continue
            settings = resource.get("Properties", {}).get("OriginAccessControlConfig", {})
            wanted = {"OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4"}
            if {k: settings.get(k) for k in wanted} != wanted:
                problems.append(f"{name}: its origin access control {control} is not s3/always/sigv4")
    return problems


def viewer_protocol_problems(template: Template) -> list[str]:
    """Every behaviour of every distribution answers over HTTPS only (redirect-to-https or https-only)."""
    return [
        f"{logical_id} ({path}): ViewerProtocolPolicy {behaviour.get('ViewerProtocolPolicy')}"
        for logical_id, config in distributions(template)
        for path, behaviour in behaviours(config)
        if behaviour.get("ViewerProtocolPolicy") not in HTTPS_ONLY
    ]


def _header_problems(name: str, config: dict[str, Any], *, framed: bool = False) -> list[str]:
    """`framed`: the embed page's, which any site may frame (no frame-ancestors 'none', no X-Frame-Options)."""
    security = config.get("SecurityHeadersConfig") or {}
    required = ("ContentSecurityPolicy", "StrictTransportSecurity", "ContentTypeOptions", "FrameOptions")
    problems = [
        f"{name}: {header} missing or not overriding the origin's"
        for header in (required[:-1] if framed else required)
        if (security.get(header) or {}).get("Override") is not True
    ]  # fmt: skip
    hsts = security.get("StrictTransportSecurity") or {}
    if int(hsts.get("AccessControlMaxAgeSec", 0)) < ONE_YEAR:
        problems.append(f"{name}: HSTS max-age under a year")
    if framed and "FrameOptions" in security:
        problems.append(f"{name}: X-Frame-Options on the embed page (other sites could not frame it)")
    elif not framed and (security.get("FrameOptions") or {}).get("FrameOption") != "DENY":
        problems.append(f"{name}: X-Frame-Options is not DENY")
    if (security.get("ReferrerPolicy") or {}).get("ReferrerPolicy") not in STRICT_REFERRERS:
        problems.append(f"{name}: Referrer-Policy missing or sends the full URL to other origins")
    csp = (security.get("ContentSecurityPolicy") or {}).get("ContentSecurityPolicy")
    if isinstance(csp, dict) and set(csp) == {"Fn::Sub"}:
        csp = _listed(csp["Fn::Sub"])[0]  # its ${Name}s: sources known at deploy (an import), none a script's
    if not isinstance(csp, str):
        return [*problems, f"{name}: no Content-Security-Policy that can be read ({json.dumps(csp)[:80]})"]
    directives = csp_directives(csp)
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None:
        problems.append(f"{name}: the CSP has neither script-src nor default-src (any script runs)")
    elif unsafe := [s for s in scripts if s.lower() in UNSAFE_SCRIPT_SOURCES or "*" in s or "${" in s]:
        problems.append(f"{name}: the CSP's script-src allows {unsafe}")
    if directives.get("object-src", directives.get("default-src")) != ["'none'"]:
        problems.append(f"{name}: the CSP's object-src is not 'none'")
    if not framed and directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"{name}: the CSP's frame-ancestors is not 'none' (only {FRAMED_PATH} may be framed)")
    if "base-uri" not in directives:
        problems.append(f"{name}: the CSP has no base-uri (a <base> tag could move every relative script URL)")
    return problems


def security_headers_problems(template: Template) -> list[str]:
    """Every behaviour of a site has a response headers policy of this stack with a CSP (a text, or an Fn::Sub of
    one) whose script-src has no inline script, eval, wildcard or value filled in at deploy (object-src and
    frame-ancestors 'none', a base-uri), HSTS of a year or more,
    nosniff, X-Frame-Options DENY and a strict Referrer-Policy, each overriding what the origin sends. The embed
    page's behaviour (FRAMED_PATH) alone may be framed: the same, without frame-ancestors 'none' and X-Frame-Options."""
    problems = []
    for logical_id, config in sites(template).items():
        for path, behaviour in behaviours(config):
            policy = ref_target(behaviour.get("ResponseHeadersPolicyId"))
            resource = template.resources.get(policy or "", {})
            if resource.get("Type") != RESPONSE_HEADERS_POLICY:
                problems.append(f"{logical_id} ({path}): no response headers policy of this stack")
                continue
            headers = resource.get("Properties", {}).get("ResponseHeadersPolicyConfig", {})
            problems += _header_problems(f"{logical_id} ({path}) {policy}", headers, framed=path == FRAMED_PATH)
    return sorted(set(problems), key=problems.index)


RULES = (bucket_access_problems, origin_access_problems, viewer_protocol_problems, security_headers_problems)
