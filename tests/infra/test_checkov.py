"""checkov, a template scanner (pinned: tools/checkov-requirements.txt), on every packaged template.

Each check it fails must be accepted in tests/infra/checkov-accepted.yml, for a reason the design chose; an
accepted entry that no longer matches a finding fails too, so the list stays true. `make check-infra` makes
checkov's own environment (.build/checkov: checkov pins an older boto3 than ours). It runs offline: no API key,
no download from its platform (--skip-download), no update check against PyPI.

checkov evaluates a template's Conditions with the parameters' defaults (the ci stage's) and skips the resources
they leave out, so each template is scanned with its resources' conditions dropped: whatever a stage can deploy
(the playback CDN) is scanned. serverless-compose packages into the same folders: its templates are these.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.conftest import ROOT, SERVICES, load

CHECKOV = ROOT / ".build" / "checkov" / "bin" / "checkov"
ACCEPTED = Path(__file__).with_name("checkov-accepted.yml")
# what would change checkov's behaviour from outside: a platform key or URL, its own settings
FOREIGN_SETTINGS = ("BC_", "PRISMA_", "CKV_", "CHECKOV_")


@dataclass(frozen=True)
class Finding:
    check: str
    service: str
    resource: str  # the logical id
    title: str

    def __str__(self) -> str:
        return f"{self.check} {self.service} {self.resource}: {self.title}"


@dataclass(frozen=True)
class Acceptance:
    check: str
    services: tuple[str, ...]  # service names, or patterns of them (fnmatch)
    resources: tuple[str, ...]  # logical ids, or patterns of them
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (
            finding.check == self.check
            and any(fnmatchcase(finding.service, s) for s in self.services)
            and any(fnmatchcase(finding.resource, r) for r in self.resources)
        )

    def unmatched(self, findings: Iterable[Finding]) -> list[str]:
        """The services and resource patterns of this entry that no finding matches any more."""
        mine = [f for f in findings if self.covers(f)]
        return [f"service {s}" for s in self.services if not any(fnmatchcase(f.service, s) for f in mine)] + [
            f"resources {r}" for r in self.resources if not any(fnmatchcase(f.resource, r) for f in mine)
        ]


def accepted(path: Path = ACCEPTED) -> list[Acceptance]:
    entries = yaml.safe_load(path.read_text())
    found = []
    for entry in entries:
        assert set(entry) == {"check", "services", "resources", "reason"}, f"{path.name}: {entry}"
        assert entry["reason"].strip(), f"{path.name}: {entry['check']} gives no reason"
        found.append(Acceptance(entry["check"], tuple(entry["services"]), tuple(entry["resources"]), entry["reason"]))
    return found


def unaccepted(findings: list[Finding], acceptances: list[Acceptance]) -> list[Finding]:
    return [f for f in findings if not any(a.covers(f) for a in acceptances)]


def stale(findings: list[Finding], acceptances: list[Acceptance]) -> list[str]:
    return [f"{a.check} ({', '.join(gone)})" for a in acceptances if (gone := a.unmatched(findings))]


def scannable(document: dict[str, Any]) -> dict[str, Any]:
    """The template with every resource in, whichever stage's conditions would leave it out."""
    every = copy.deepcopy(document)
    for resource in every["Resources"].values():
        resource.pop("Condition", None)
    return every


def checkov(folder: Path, templates: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """checkov's JSON reports on the templates, each written as <service>.json into folder."""
    for service, document in templates.items():
        (folder / f"{service}.json").write_text(json.dumps(scannable(document)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_SETTINGS)}
    env |= {"HOME": str(folder), "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}  # no ~/.checkov.yaml; no PyPI lookup
    files = [arg for service in templates for arg in ("--file", f"{service}.json")]
    done = subprocess.run(
        [str(CHECKOV), "--framework", "cloudformation", "--output", "json", "--compact", "--skip-download", *files],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: some check failed; anything else: checkov did not run
    reports = json.loads(done.stdout)
    return reports if isinstance(reports, list) else [reports]


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make check-infra` makes it (tools/checkov-requirements.lock)"
    started = time.monotonic()
    reports = checkov(tmp_path_factory.mktemp("checkov"), {service: load(service).document for service in SERVICES})
    print(f"checkov on {len(SERVICES)} templates: {time.monotonic() - started:.1f} s")
    (report,) = [r for r in reports if r["check_type"] == "cloudformation"]
    assert report["summary"]["parsing_errors"] == 0
    results = report["results"]
    checked = {Path(c["file_path"]).stem for c in results["passed_checks"] + results["failed_checks"]}
    assert checked == set(SERVICES), "checkov did not scan every template"
    return [
        Finding(c["check_id"], Path(c["file_path"]).stem, c["resource"].split(".", 1)[1], c["check_name"])
        for c in results["failed_checks"]
    ]


def test_checkov_finds_nothing_but_the_accepted_findings(findings: list[Finding]):
    # Given checkov's failed checks on every packaged template, and the findings accepted for their reasons
    # When the two are compared
    new = unaccepted(findings, accepted())
    # Then every failed check is an accepted one
    assert not new, "checkov findings not accepted in tests/infra/checkov-accepted.yml (fix them, or accept one " + (
        "with its reason):\n" + "\n".join(sorted(map(str, new)))
    )


def test_every_accepted_finding_still_occurs(findings: list[Finding]):
    # Given the accepted findings
    # When each is looked for among checkov's
    gone = stale(findings, accepted())
    # Then each still matches one: a fixed finding leaves the list
    assert not gone, "accepted in tests/infra/checkov-accepted.yml, but checkov no longer finds:\n" + "\n".join(gone)


def test_a_new_finding_and_an_accepted_one_that_is_gone_are_both_named():
    # Given findings, and acceptances of which one covers a finding and one covers nothing
    lambdas = Acceptance("CKV_AWS_117", ("*",), ("*LambdaFunction",), "nothing in a VPC to reach")
    old = Acceptance("CKV_AWS_18", ("web", "upload"), ("SiteBucket",), "no log bucket")
    findings = [
        Finding("CKV_AWS_117", "auth", "AuthorizerLambdaFunction", "in a VPC"),
        Finding("CKV_AWS_117", "auth", "AuthorizerLambdaPermission", "in a VPC"),
        Finding("CKV_AWS_18", "web", "SiteBucket", "access logging"),
    ]
    # When they are compared
    # Then the finding no entry covers is new, and the entry's part that matches nothing is stale
    assert unaccepted(findings, [lambdas, old]) == [findings[1]]
    assert stale(findings, [lambdas, old]) == ["CKV_AWS_18 (service upload)"]


def test_the_accepted_list_gives_each_entry_a_reason(tmp_path: Path):
    # Given an entry without a reason
    path = tmp_path / "accepted.yml"
    path.write_text("- {check: CKV_AWS_117, services: ['*'], resources: ['*'], reason: ' '}\n")
    # When the list is read, then it is refused
    with pytest.raises(AssertionError, match="gives no reason"):
        accepted(path)
