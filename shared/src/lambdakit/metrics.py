"""The metrics the team on call reads, declared once: name, unit and dimensions, in namespace `Video24`.

They leave a function as CloudWatch Embedded Metric Format: one JSON line on stdout per measurement, which
CloudWatch Logs turns into a metric (no API call, no client, nothing to flush; locally it lands in the
function's log). Every line carries the dimension `service` (the Powertools service name) and the metric's own
dimensions, exactly those declared here, so no two services spell a metric differently.

A service records through `EmfMeter` (Powertools' `single_metric`: one line each, so each measurement may
carry its own dimensions, such as a failure's reason); logic gets it as a `Meter`. The authorizer, which stays
free of Powertools for its cold start, prints the same line with `emf_line`. Importing this module costs only
the standard library.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Protocol

NAMESPACE = "Video24"


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # a CloudWatch unit
    dimensions: tuple[str, ...] = ()  # besides `service`


# metadata (catalog): what the catalog recorded, once per change
VIDEOS_UPLOADED = Metric("VideosUploaded", "Count")
VIDEOS_READY = Metric("VideosReady", "Count")
VIDEOS_FAILED = Metric("VideosFailed", "Count", ("reason",))  # reason: the failure code (FailureReason)
SOURCE_MINUTES = Metric("SourceMinutes", "Count")  # minutes of source made READY: what the service is paid for
# transcode (the workflow's media tasks)
CHUNK_SECONDS = Metric("ChunkSeconds", "Seconds")  # one chunk's encode, every rung, wall time
TRANSCODE_WALL = Metric("TranscodeWallSecondsPerSourceMinute", "Seconds")  # workflow start to assembled, per video
TRANSCODE_CPU = Metric("TranscodeCpuSecondsPerSourceMinute", "Seconds")  # ffmpeg's CPU, every task of a video
# every HTTP route (lambdakit.http), and the authorizer in front of them
API_REQUESTS = Metric("ApiRequests", "Count", ("route", "status"))
AUTHORIZER_REFUSALS = Metric("AuthorizerRefusals", "Count", ("reason",))  # reason: identity.logic.tokens codes
# notify: what reached the owners
PUSHES_SENT = Metric("PushesSent", "Count")  # status changes posted to an open page
CONNECTIONS_GONE = Metric("ConnectionsGone", "Count")  # pages closed without a $disconnect (a 410), forgotten
MAILS_SENT = Metric("MailsSent", "Count", ("status",))  # e-mail to an uploader, once per final status

ALL = (
    VIDEOS_UPLOADED,
    VIDEOS_READY,
    VIDEOS_FAILED,
    SOURCE_MINUTES,
    CHUNK_SECONDS,
    TRANSCODE_WALL,
    TRANSCODE_CPU,
    API_REQUESTS,
    AUTHORIZER_REFUSALS,
    PUSHES_SENT,
    CONNECTIONS_GONE,
    MAILS_SENT,
)


class Meter(Protocol):
    """Where logic records a measurement (tests give it a list; services an EmfMeter)."""

    def record(self, metric: Metric, value: float = 1, **dimensions: str) -> None: ...


class NoMeter:
    """Records nothing: for callers (scripts, tests of other things) that measure nothing."""

    def record(self, metric: Metric, value: float = 1, **dimensions: str) -> None:
        _check(metric, dimensions)


def _check(metric: Metric, dimensions: dict[str, str]) -> None:
    if set(dimensions) != set(metric.dimensions):
        raise ValueError(f"{metric.name} takes dimensions {metric.dimensions}, given {tuple(dimensions)}")


class EmfMeter:
    """A service's measurements as EMF lines on stdout, through Powertools."""

    def __init__(self, service: str) -> None:
        self.service = service

    def record(self, metric: Metric, value: float = 1, **dimensions: str) -> None:
        _check(metric, dimensions)
        # Imported on first use: importing this module must stay free for the authorizer.
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        with single_metric(
            name=metric.name,
            unit=MetricUnit(metric.unit),
            value=value,
            namespace=NAMESPACE,
            default_dimensions={"service": self.service},
        ) as single:
            for name, dimension in dimensions.items():
                single.add_dimension(name=name, value=str(dimension))


def emf_line(metric: Metric, value: float = 1, *, service: str, **dimensions: str) -> str:
    """The EMF line EmfMeter prints, with the standard library only (for the authorizer)."""
    _check(metric, dimensions)
    names = ["service", *metric.dimensions]
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": NAMESPACE, "Dimensions": [names], "Metrics": [{"Name": metric.name, "Unit": metric.unit}]}
            ],
        },
        "service": service,
        **{name: str(dimensions[name]) for name in metric.dimensions},
        metric.name: [float(value)],
    }
    return json.dumps(document, separators=(",", ":"))
