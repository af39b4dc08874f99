"""Reading what a function emitted as metrics: the EMF lines in its stdout (capsys), as Powertools documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdakit.metrics import NAMESPACE, Metric


def emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Every EMF document printed since the last call (other stdout lines are left out)."""
    documents = []
    for line in capsys.readouterr().out.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            documents.append(document)
    return documents


def values(documents: list[dict[str, Any]], metric: Metric) -> list[tuple[float, dict[str, str]]]:
    """Each value of that metric, with its dimensions; checks the document declares it as CloudWatch reads it."""
    found = []
    for document in documents:
        (declared,) = document["_aws"]["CloudWatchMetrics"]
        if metric.name not in document:
            continue
        assert declared["Namespace"] == NAMESPACE
        assert declared["Metrics"] == [{"Name": metric.name, "Unit": metric.unit}]
        (names,) = declared["Dimensions"]
        assert sorted(names) == sorted(["service", *metric.dimensions])
        dimensions = {name: document[name] for name in names}
        found += [(float(value), dimensions) for value in document[metric.name]]
    return found
