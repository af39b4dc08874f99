"""`make cost`'s model: the price table complete, the workflow's transitions walked from its definition, costs
that scale the way the bill does, and the managed transcoders priced for the same ladder."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import replace

import pytest

from infra import load
from tools import cost

pytestmark = pytest.mark.service("tools")

PRICES = tomllib.loads(cost.PRICES.read_text())
SPEED = cost.Speed(all_rungs=90.0, audio=1.5, per_rung={"1080p": 45, "720p": 25, "480p": 15}, stages={},
                   measured_at="2026-12-01T00:00:00+00:00")  # fmt: skip


@pytest.fixture(scope="module")
def deploy() -> cost.Deployment:
    return cost.deployment(load("prod"), metrics=10)


def by_resource(estimate: cost.Estimate) -> dict[str, float]:
    return {f"{line.service}: {line.resource}": line.usd for line in estimate.lines}


def test_every_price_is_dated_sourced_and_positive():
    assert PRICES["table"]["checked"] and PRICES["table"]["region"] == "us-east-1"
    for name, section in [*((k, v) for k, v in PRICES.items() if k not in ("table", "reference")),
                          *PRICES["reference"].items()]:  # fmt: skip
        assert section["source"].startswith("https://"), name
        rates = {k: v for k, v in section.items() if k != "source"}
        assert rates and all(isinstance(v, int | float) and v >= 0 for v in rates.values()), name


def test_the_workflows_transitions_follow_its_happy_path_and_grow_by_chunk(deploy: cost.Deployment):
    # Every Choice of the workflow sends the happy path to its Default (the rule the walk relies on)
    definition = json.loads(load("prod").state_machines[0].definition)

    def choices(states: dict) -> list[dict]:
        found = [s for s in states.values() if s["Type"] == "Choice"]
        for state in states.values():
            for branch in state.get("Branches", []):
                found += choices(branch["States"])
            if state["Type"] == "Map":
                found += choices((state.get("ItemProcessor") or state["Iterator"])["States"])
        return found

    assert choices(definition["States"]) and all("Default" in c for c in choices(definition["States"]))
    # Plan, Planned, Encode, Assemble, Assembled, Done; the audio branch's EncodeAudio, the chunk branch's HasFirst
    # and the Map itself; and per chunk EncodeChunk (or FirstChunk: a retry is a transition more, the happy path
    # has none)
    assert (deploy.fixed_transitions, deploy.transitions_per_chunk) == (6 + 1 + 1 + 1, 1)
    n = cost.walk(definition["States"], definition["StartAt"], 7)
    assert n == deploy.fixed_transitions + 7 * deploy.transitions_per_chunk


def test_a_walk_counts_parallel_branches_and_map_items():
    states = {
        "A": {"Type": "Pass", "Next": "P"},
        "P": {"Type": "Parallel", "Next": "C", "Branches": [
            {"StartAt": "M", "States": {"M": {"Type": "Map", "End": True, "ItemProcessor": {
                "StartAt": "X", "States": {"X": {"Type": "Task", "Next": "Y"}, "Y": {"Type": "Pass", "End": True}}}}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
        ]},
        "C": {"Type": "Choice", "Choices": [{"Next": "F"}], "Default": "S"},
        "F": {"Type": "Fail"},
        "S": {"Type": "Succeed"},
    }  # fmt: skip
    assert cost.walk(states, "A", 3) == 4 + (1 + 3 * 2) + 1


def test_the_transcode_is_priced_from_the_measured_cpu_and_the_declared_memory(deploy: cost.Deployment):
    volume = cost.Volume(uploads=100, minutes=10, views=0)
    lines = by_resource(cost.estimate(volume, deploy, SPEED, PRICES))
    vcpus = deploy.media_memory_mb / PRICES["lambda"]["mb_per_vcpu"]
    expected = 90.0 * 1000 / vcpus * deploy.media_memory_mb / 1024 * PRICES["lambda"]["gb_second"]
    assert lines["Lambda: mediaTasks: chunk encodes (measured CPU)"] == pytest.approx(expected)
    # 10 minutes in chunks of 6, 12, 24, 48, then 60 s (14 of them), each in two rounds
    assert deploy.chunk_seconds == 60
    items = 2 * (4 + math.ceil((600 - 90) / 60))
    transitions = 100 * (deploy.fixed_transitions + deploy.transitions_per_chunk * items)
    assert lines["Step Functions: state transitions"] == pytest.approx(transitions * 0.000025)
    # And twice the CPU, twice the encode's cost; plan + assemble priced only once measured
    slower = by_resource(cost.estimate(volume, deploy, replace(SPEED, all_rungs=180.0), PRICES))
    assert slower["Lambda: mediaTasks: chunk encodes (measured CPU)"] == pytest.approx(2 * expected)
    assert "Lambda: mediaTasks: plan + assemble (measured wall)" not in lines
    timed = by_resource(cost.estimate(volume, deploy, replace(SPEED, stages={"plan": 0.5, "assemble": 1.5}), PRICES))
    assert timed["Lambda: mediaTasks: plan + assemble (measured wall)"] > 0


def test_variable_costs_scale_with_the_volume_and_fixed_costs_do_not(deploy: cost.Deployment):
    small = cost.estimate(cost.Volume(uploads=100, minutes=5, views=1000), deploy, SPEED, PRICES)
    big = cost.estimate(cost.Volume(uploads=1000, minutes=5, views=10000), deploy, SPEED, PRICES)
    for a, b in zip(small.lines, big.lines, strict=True):
        if a.per_minute and a.usd:
            assert b.usd == pytest.approx(10 * a.usd, rel=0.02), a.resource
        else:
            assert b.usd == a.usd, a.resource
    fixed = {line.resource for line in small.lines if not line.per_minute}
    assert {"alarms", "dashboards", "custom metrics (EMF)"} <= fixed and any("idle long polls" in r for r in fixed)
    # And views cost transfer, not transcoding
    watched = by_resource(cost.estimate(cost.Volume(uploads=100, minutes=5, views=5000), deploy, SPEED, PRICES))
    unwatched = by_resource(cost.estimate(cost.Volume(uploads=100, minutes=5, views=0), deploy, SPEED, PRICES))
    assert watched["S3: transfer out to viewers (720p)"] > 0 == unwatched["S3: transfer out to viewers (720p)"]
    assert (
        watched["Lambda: mediaTasks: chunk encodes (measured CPU)"]
        == unwatched["Lambda: mediaTasks: chunk encodes (measured CPU)"]
    )


def test_viewing_transfer_is_the_rungs_bitrate_times_the_minutes_watched(deploy: cost.Deployment):
    volume = cost.Volume(uploads=1, minutes=10, views=100, watched=0.5, rung="1080p")
    lines = by_resource(cost.estimate(volume, deploy, SPEED, PRICES))
    gigabytes = (5000 + 128) * 1000 / 8 * (100 * 10 * 0.5 * 60) / 1e9
    assert lines["S3: transfer out to viewers (1080p)"] == pytest.approx(gigabytes * 0.09)


def test_the_references_price_the_same_ladder_per_output_minute():
    refs = cost.references(100, PRICES)
    assert refs["Amazon Elastic Transcoder (closed 2025)"] == pytest.approx(100 * (0.030 + 0.030 + 0.015))
    assert refs["AWS Elemental MediaConvert (Basic tier)"] == pytest.approx(100 * (2 + 2 + 1) * 0.0075)


def test_the_report_prints_every_line_the_totals_and_the_references(deploy: cost.Deployment):
    estimate = cost.estimate(cost.Volume(), deploy, SPEED, PRICES)
    text = "\n".join(cost.report(estimate, deploy, SPEED, PRICES))
    assert all(line.resource[:40] in text for line in estimate.lines)
    assert f"total {estimate.total:,.2f} USD a month" in text
    assert "reference: AWS Elemental MediaConvert" in text and "reference: Amazon Elastic Transcoder" in text
    assert "assumed (options change them)" in text and "encoders measured 2026-12-01" in text


def test_bad_volumes_are_refused_in_words(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_:
        cost.main(["--uploads", "0"])
    assert exit_.value.code == 2 and "--uploads at least 1" in capsys.readouterr().err


def test_custom_metrics_are_counted_per_dimension_value_set():
    from contracts import FailureReason
    from lambdakit import metrics

    topology = load("prod")
    plain = [m for m in metrics.ALL if not m.dimensions]
    expected = len(plain) + 3 * len(topology.routes) + len(FailureReason) + 12 + 2  # + MailsSent by status
    assert cost.metric_count(topology) == expected and len(plain) == 8


def test_shared_views_skip_the_authorizer_and_the_socket_and_every_view_sends_one_beacon():
    # Given a month of 1,000 views, 40 % of them others' through share links, each watching 30 minutes
    volume = cost.Volume(views=1000, shared=0.4, minutes=50, watched=0.6)
    counts = cost.invocations(volume, chunks=1)

    # Then only the owners' views reach the authorizer and the live socket; a shared view asks for fresh links
    # every 10 minutes of watching (3 times over 30 minutes), and every view counts once
    assert counts["auth-authorizer"] == volume.uploads + 3 * 600
    assert counts["notify-connect"] == 600 and counts["metadata-getVideo"] == 600
    assert counts["metadata-getSharedVideo"] == 400 * (1 + 3)
    assert counts["metadata-countView"] == 1000
