"""`make cost`: what running 24-Hour Video costs on AWS, per minute of source video and per month.

    python -m tools.cost [--uploads N] [--minutes M] [--views V] [--stage prod] ...

The model prices what one video does, as the services declare it and the machine measured it:
- the deployment: every function's memory, the transcode's chunk length and media task memory, the workflow's
  state transitions (walked from its definition), the queues, tables, alarms and dashboards, read from
  services/*/serverless.yml through `infra` (stage params as given);
- the transcode's speed: CPU-seconds per source minute of the chunk task (every rung from one decode), per rung,
  and of the audio, measured on this machine by bench/scale.py (.demo/bench/encoder-costs.json; measured on the
  first run if missing, about two minutes), priced as Lambda GB-seconds at 1 vCPU per 1,769 MB;
- list prices from one dated table, tools/prices.toml.
What the model cannot know is an assumption, printed under the table (how much of a video is watched, at which
rung, how big a source is per minute, how long a small function runs...); change them with the options.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import ROOT, Topology, load
from infra.serverless import compose_order, load_yaml

PRICES = Path(__file__).with_name("prices.toml")
ENCODER_COSTS = ROOT / ".demo" / "bench" / "encoder-costs.json"
MEDIA_TASKS = "transcode-mediaTasks"
LADDER = (("1080p", 5000, "hd"), ("720p", 2800, "hd"), ("480p", 1400, "sd"))  # transcode/logic/ladder.py's
AUDIO_KBPS = 128
SEGMENT_SECONDS = 6  # transcode/logic/chunking.py's Grid
ROUNDS = 2  # the chunk Map encodes every chunk twice: the lowest rung (the growing stream), then the others
# VideoTranscodeProgress per Map item: when it is stored, and while ffmpeg runs (every 5 s: a Lambda chunk takes
# from a few seconds to about a minute); each one a catalog write and a push
PROGRESS_PER_ITEM = 3
POLLERS_PER_QUEUE = 5  # Lambda's SQS event source: 5 long-polling connections, 20 s each, while idle
MINUTES_PER_MONTH = 30 * 24 * 60


@dataclass(frozen=True)
class Volume:
    """What the users do in a month, and what the model assumes of it."""

    uploads: int = 1000
    minutes: float = 5.0  # average source length
    views: int = 20000
    watched: float = 0.6  # share of a video a view plays
    shared: float = 0.5  # share of the views by others, through a share link or the public page (no sign-in)
    site_kb: float = 250.0  # the website's files a view's page load fetches through CloudFront (first visit)
    rung: str = "720p"  # the rung a view plays
    source_mbps: float = 8.0  # a phone's 1080p upload
    mail_share: float = 0.5  # uploaders who opted in to e-mail
    months: int = 12  # the library holds this many months of uploads (the month priced is the last one)
    small_function_seconds: float = 0.1  # a function other than the media tasks, per invocation
    log_kb_per_invocation: float = 1.0


@dataclass(frozen=True)
class Speed:
    """CPU-seconds per minute of source, measured by bench/scale.py on this machine."""

    all_rungs: float
    audio: float
    per_rung: dict[str, float]
    stages: dict[str, float]  # wall seconds per source minute of plan and assemble, when a full run measured them
    measured_at: str


@dataclass(frozen=True)
class Deployment:
    memory_mb: dict[str, int]  # function key -> memory
    media_memory_mb: int
    chunk_seconds: int
    fixed_transitions: int  # per execution, whatever the length
    transitions_per_chunk: int
    queues: int  # queues a function consumes (idle polling)
    alarms: int
    dashboards: int
    alarms_counted: str  # how
    metrics: int


@dataclass
class Line:
    service: str
    resource: str
    quantity: float
    unit: str
    usd: float
    per_minute: bool = True  # grows with the minutes uploaded or watched (else: a fixed monthly cost)


@dataclass
class Estimate:
    volume: Volume
    lines: list[Line] = field(default_factory=list)

    def add(
        self, service: str, resource: str, quantity: float, unit: str, price: float, *, fixed: bool = False
    ) -> None:
        self.lines.append(Line(service, resource, quantity, unit, quantity * price, not fixed))

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    @property
    def source_minutes(self) -> float:
        return self.volume.uploads * self.volume.minutes


# --- what the deployment declares --------------------------------------------------------------------------


def walk(states: dict[str, Any], start: str, items: int) -> int:
    """State transitions of one execution along its happy path: each Choice's Default (a rule of this workflow,
    checked by a test), a Parallel's branches, a Map's processor once per item."""
    count, name = 0, start
    while name:
        state = states[name]
        count += 1
        if state["Type"] == "Parallel":
            count += sum(walk(b["States"], b["StartAt"], items) for b in state["Branches"])
        if state["Type"] == "Map":
            processor = state.get("ItemProcessor") or state["Iterator"]
            count += items * walk(processor["States"], processor["StartAt"], items)
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            break
        name = state.get("Next") or state.get("Default")
    return count


def operations_count(topology: Topology, root: Path = ROOT) -> tuple[int, int, str]:
    """(alarms, dashboards, how they were counted): from the packaged templates when `make package` made them all,
    else as the alarms plugin (tools/serverless/alarms) adds them to the declared ones."""
    services = compose_order(root)
    packaged = [directory / ".serverless" / "cloudformation-template-update-stack.json" for _, directory in services]
    kinds = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard")
    fresh = all(
        path.is_file() and path.stat().st_mtime >= (directory / "serverless.yml").stat().st_mtime
        for path, (_, directory) in zip(packaged, services, strict=True)
    )
    if fresh:
        built = [r for path in packaged for r in json.loads(path.read_text()).get("Resources", {}).values()]
        alarms, dashboards = (sum(1 for r in built if r.get("Type") == kind) for kind in kinds)
        return alarms, dashboards, "counted in the packaged templates"
    declared = 0
    for _, directory in services:
        declared_resources = (load_yaml(directory / "serverless.yml").get("resources") or {}).get("Resources") or {}
        declared += sum(1 for resource in declared_resources.values() if resource.get("Type") == kinds[0])
    with_functions = {key.split("-", 1)[0] for key in topology.invocables}
    apis = {route.function.split("-", 1)[0] for route in topology.routes} | {a.service for a in topology.websocket_apis}
    alarms = declared + 3 * len(topology.invocables) + len(apis) + len(topology.state_machines)
    return alarms, len(with_functions), "as the alarms plugin adds them; package to count them exactly"


def deployment(topology: Topology, metrics: int) -> Deployment:
    media = topology.invocables[MEDIA_TASKS]
    [machine] = topology.state_machines
    definition = json.loads(machine.definition)
    one, two = (walk(definition["States"], definition["StartAt"], n) for n in (1, 2))
    consumed = {f.queue_arn for f in topology.functions}
    alarms, dashboards, counted = operations_count(topology)
    return Deployment(
        memory_mb={key: f.memory for key, f in topology.invocables.items()},
        media_memory_mb=media.memory,
        chunk_seconds=int(media.environment["CHUNK_SECONDS"]),
        fixed_transitions=one - (two - one),
        transitions_per_chunk=two - one,
        queues=len(consumed),
        alarms=alarms,
        dashboards=dashboards,
        alarms_counted=counted,
        metrics=metrics,
    )


def measured_speed(path: Path = ENCODER_COSTS) -> Speed:
    """The encoders' cost on this machine; measured now (bench/scale.py --costs-only) when it never was."""
    if not path.is_file():
        print("cost: measuring the encoders on this machine first (bench/scale.py --costs-only, ~2 min)",
              file=sys.stderr, flush=True)  # fmt: skip
        command = [sys.executable, str(ROOT / "bench" / "scale.py"), "--costs-only", "--seconds", "30", "--chunk", "30"]
        subprocess.run(command, cwd=ROOT, check=True, stdout=sys.stderr)
    record = json.loads(path.read_text())
    cpu = record["cpu_seconds_per_source_minute"]
    return Speed(cpu["all_rungs"], cpu["audio"], cpu["per_rung"], record.get("stage_seconds_per_source_minute") or {},
                 record["measured_at"])  # fmt: skip


# --- the model --------------------------------------------------------------------------------------------


def chunks_per_video(volume: Volume, deploy: Deployment) -> int:
    """The items of a video's chunk Map: its chunks (one segment first, then twice as long up to chunk_seconds:
    transcode/logic/chunking.py) in each of the ROUNDS (the lowest rung first, then the others)."""
    left, length, chunks = volume.minutes * 60, SEGMENT_SECONDS, 0
    while left > 0:
        chunks, left, length = chunks + 1, left - min(length, deploy.chunk_seconds), length * 2
    return ROUNDS * max(1, chunks)


def gigabytes(kbps: float, minutes: float) -> float:
    return kbps * 1000 / 8 * minutes * 60 / 1e9


def estimate(volume: Volume, deploy: Deployment, speed: Speed, prices: dict[str, Any]) -> Estimate:
    result = Estimate(volume)
    _transcode(result, deploy, speed, prices)
    _functions(result, deploy, prices)
    _storage(result, prices)
    _delivery(result, prices)
    _messaging(result, deploy, prices)
    _operations(result, deploy, prices)
    return result


def _transcode(result: Estimate, deploy: Deployment, speed: Speed, prices: dict[str, Any]) -> None:
    v, lam = result.volume, prices["lambda"]
    gb, vcpus = deploy.media_memory_mb / 1024, deploy.media_memory_mb / lam["mb_per_vcpu"]
    minutes = result.source_minutes
    chunk_gbs = speed.all_rungs * minutes / vcpus * gb  # ffmpeg keeps every vCPU busy
    audio_gbs = speed.audio * minutes / min(1.0, vcpus) * gb  # AAC is one thread
    result.add("Lambda", "mediaTasks: chunk encodes (measured CPU)", chunk_gbs, "GB-s", lam["gb_second"])
    result.add("Lambda", "mediaTasks: audio encode (measured CPU)", audio_gbs, "GB-s", lam["gb_second"])
    if speed.stages:
        stage_gbs = sum(speed.stages.values()) * minutes * gb
        result.add("Lambda", "mediaTasks: plan + assemble (measured wall)", stage_gbs, "GB-s", lam["gb_second"])
    chunks = chunks_per_video(v, deploy)
    transitions = v.uploads * (deploy.fixed_transitions + deploy.transitions_per_chunk * chunks)
    result.add(
        "Step Functions", "state transitions", transitions, "transitions", prices["step_functions"]["transition"]
    )


def invocations(volume: Volume, chunks: int) -> dict[str, float]:
    """Invocations a month of the functions other than the chunk and audio encodes, by what triggers them."""
    per_video = {"upload-createUpload": 1, "transcode-startTranscode": 1, "transcode-mediaTasks": 2,  # plan, assemble
                 "metadata-recordUpload": 1, "metadata-recordVideoEvent": PROGRESS_PER_ITEM * chunks + 1,
                 "notify-notify": PROGRESS_PER_ITEM * chunks + 2,
                 "notify-mail": 1}  # fmt: skip
    owner_views, shared_views = volume.views * (1 - volume.shared), volume.views * volume.shared
    per_owner_view = {"metadata-listVideos": 1, "metadata-getVideo": 1, "notify-connect": 1, "notify-disconnect": 1}
    per_shared_view = {
        "metadata-listPublicVideos": 1,  # the public page they came through (a share link skips it: the worst case)
        "metadata-getSharedVideo": 1 + shared_refreshes(volume),
    }
    # every view: the master, the rung's and the audio playlists, the VTT; and its one beacon
    per_view = {"metadata-servePlayback": 4, "metadata-countView": 1}
    counts: dict[str, float] = {key: n * volume.uploads for key, n in per_video.items()}
    for per, views in ((per_owner_view, owner_views), (per_shared_view, shared_views), (per_view, volume.views)):
        for key, n in per.items():
            counts[key] = counts.get(key, 0) + n * views
    # the authorizer runs before each signed-in call (its cache aside: the worst case), the socket's too
    counts["auth-authorizer"] = volume.uploads + 3 * owner_views
    return counts


def shared_refreshes(volume: Volume) -> float:
    """How often a shared view asks for fresh links: its grant lasts 10 minutes (metadata's SHARED_LINK_LIFETIME)."""
    return math.floor(volume.minutes * volume.watched / 10)


def _functions(result: Estimate, deploy: Deployment, prices: dict[str, Any]) -> None:
    v, lam = result.volume, prices["lambda"]
    counts = invocations(v, chunks_per_video(v, deploy))
    small = {k: n for k, n in counts.items() if k in deploy.memory_mb and k != MEDIA_TASKS}
    gbs = sum(n * v.small_function_seconds * deploy.memory_mb[k] / 1024 for k, n in small.items())
    result.add("Lambda", f"other functions ({v.small_function_seconds:g} s each)", gbs, "GB-s", lam["gb_second"])
    requests = sum(counts.values()) + v.uploads * chunks_per_video(v, deploy) + v.uploads  # + chunk and audio tasks
    result.add("Lambda", "requests", requests, "invocations", lam["request"])
    gb_logged = requests * v.log_kb_per_invocation / 1e6
    result.add("CloudWatch", "log ingestion", gb_logged, "GB", prices["cloudwatch"]["logs_ingest_gb"])


def _storage(result: Estimate, prices: dict[str, Any]) -> None:
    v, s3 = result.volume, prices["s3"]
    source_gb = v.source_mbps * 1000 / 8 * v.minutes * 60 / 1e6 * v.uploads  # a month's uploads
    ladder_kbps = sum(kbps + AUDIO_KBPS for _, kbps, _ in LADDER)
    output_gb = 2 * gigabytes(ladder_kbps, v.minutes) * v.uploads  # the HLS ladder, and MP4 downloads as big
    older = max(0, v.months - 1)
    result.add("S3", "sources, Standard (this month's)", source_gb, "GB-month", s3["standard_gb_month"])
    result.add("S3", f"sources, Glacier IR ({older} older months)", source_gb * older, "GB-month",
               s3["glacier_instant_gb_month"])  # fmt: skip
    result.add(
        "S3", "outputs, Intelligent-Tiering frequent", output_gb, "GB-month", s3["intelligent_frequent_gb_month"]
    )
    result.add("S3", "outputs, Intelligent-Tiering infrequent (older)", output_gb * older, "GB-month",
               s3["intelligent_infrequent_gb_month"])  # fmt: skip
    objects = 15 * v.uploads * v.months  # per video: a media file and playlist per rung, audio, MP4s, poster, sprites
    result.add(
        "S3", "Intelligent-Tiering monitoring", objects, "objects", s3["intelligent_monitoring_per_object_month"]
    )
    part_puts = math.ceil(v.source_mbps * 1000 / 8 * v.minutes * 60 / 1e6 / 16)  # 16 MB parts (or one form POST)
    result.add("S3", "PUT requests (upload parts, outputs)", v.uploads * (part_puts + 15), "requests", s3["put"])


def _delivery(result: Estimate, prices: dict[str, Any]) -> None:
    v, s3 = result.volume, prices["s3"]
    kbps = next(k for name, k, _ in LADDER if name == v.rung) + AUDIO_KBPS
    watched = v.views * v.minutes * v.watched
    result.add("S3", f"transfer out to viewers ({v.rung})", gigabytes(kbps, watched), "GB", s3["transfer_out_gb"])
    segments = watched * 60 / SEGMENT_SECONDS * 2  # a video and an audio segment each
    result.add("S3", "GET requests (segments, posters)", segments + 2 * v.views, "requests", s3["get"])
    api = prices["api_gateway"]
    owner_views, shared_views = v.views * (1 - v.shared), v.views * v.shared
    calls = v.uploads + 7 * owner_views + (7 + shared_refreshes(v)) * shared_views  # pages, playlists, the beacon
    result.add("API Gateway", "HTTP API requests", calls, "requests", api["http_request"])
    result.add("API Gateway", "WebSocket connection minutes", owner_views * (v.minutes * v.watched + 2), "minutes",
               api["websocket_connection_minute"])  # fmt: skip
    cdn = prices["cloudfront"]
    result.add("CloudFront", "website requests (page, script, style, config)", 4 * v.views, "requests",
               cdn["https_request"])  # fmt: skip
    result.add("CloudFront", "website transfer", v.site_kb * v.views / 1e6, "GB", cdn["transfer_out_gb"])


def _messaging(result: Estimate, deploy: Deployment, prices: dict[str, Any]) -> None:
    v = result.volume
    chunks = chunks_per_video(v, deploy)
    progress = PROGRESS_PER_ITEM * chunks
    publishes = v.uploads * (1 + (progress + 1) + (progress + 3))  # the upload; progress + transcoded; status + ready
    result.add("SNS", "publishes", publishes, "publishes", prices["sns"]["publish"])
    deliveries = v.uploads * (2 + (progress + 1) + 2 * (progress + 3) + chunks + 3)  # each queue's copy; the tasks
    result.add("SQS", "messages (send, receive, delete)", 3 * deliveries, "requests", prices["sqs"]["request"])
    idle = deploy.queues * POLLERS_PER_QUEUE * 3 * MINUTES_PER_MONTH
    result.add(
        "SQS", f"idle long polls ({deploy.queues} queues)", idle, "requests", prices["sqs"]["request"], fixed=True
    )
    api = prices["api_gateway"]
    result.add("API Gateway", "WebSocket pushes", v.uploads * (progress + 2), "messages", api["websocket_message"])
    ddb = prices["dynamodb"]
    writes = v.uploads * (4 * (2 * progress + 6) + 2 * (progress + 2))  # catalog (4 KB items), grants, connections
    result.add("DynamoDB", "writes (on demand)", writes, "WRU", ddb["write_request_unit"])
    result.add("DynamoDB", "view counts (a transaction of 2 writes)", 4 * v.views, "WRU", ddb["write_request_unit"])
    result.add("DynamoDB", "reads (on demand)", 2 * 8 * v.views + v.uploads * (chunks + 4), "RRU",
               ddb["read_request_unit"])  # fmt: skip
    result.add("SES", "e-mail to uploaders", v.uploads * v.mail_share, "messages", prices["ses"]["message"])


def _operations(result: Estimate, deploy: Deployment, prices: dict[str, Any]) -> None:
    cw = prices["cloudwatch"]
    result.add("CloudWatch", "alarms", deploy.alarms, "alarms", cw["alarm_month"], fixed=True)
    result.add("CloudWatch", "dashboards", deploy.dashboards, "dashboards", cw["dashboard_month"], fixed=True)
    result.add("CloudWatch", "custom metrics (EMF)", deploy.metrics, "metrics", cw["metric_month"], fixed=True)


def references(minutes: float, prices: dict[str, Any]) -> dict[str, float]:
    """What the same source minutes cost through the managed transcoders, for the same ladder (video outputs)."""
    mc, et = prices["reference"]["mediaconvert"], prices["reference"]["elastic_transcoder"]
    return {
        "AWS Elemental MediaConvert (Basic tier)": minutes
        * sum(mc[kind] for *_, kind in LADDER)
        * mc["normalized_minute"],
        "Amazon Elastic Transcoder (closed 2025)": minutes * sum(et[f"{kind}_minute"] for *_, kind in LADDER),
    }


# --- the report -------------------------------------------------------------------------------------------


def report(estimate: Estimate, deploy: Deployment, speed: Speed, prices: dict[str, Any]) -> Iterable[str]:
    v, minutes = estimate.volume, estimate.source_minutes
    yield (f"24-Hour Video on AWS ({prices['table']['region']}, list prices checked {prices['table']['checked']}): "
           f"{v.uploads:,} uploads a month of {v.minutes:g} min, {v.views:,} views")  # fmt: skip
    yield f"{'service':<15}{'resource':<50}{'quantity':>16}  {'unit':<12}{'USD/month':>11}{'USD/src min':>13}"
    for line in sorted(estimate.lines, key=lambda line: (line.service, -line.usd)):
        share = f"{line.usd / minutes:>13.5f}" if line.per_minute and minutes else f"{'(fixed)':>13}"
        yield f"{line.service:<15}{line.resource:<50}{line.quantity:>16,.1f}  {line.unit:<12}{line.usd:>11.2f}{share}"
    variable = sum(line.usd for line in estimate.lines if line.per_minute)
    by_service: dict[str, float] = {}
    for line in estimate.lines:
        by_service[line.service] = by_service.get(line.service, 0) + line.usd
    yield ""
    yield "by service: " + ", ".join(
        f"{name} {usd:.2f}" for name, usd in sorted(by_service.items(), key=lambda i: -i[1])
    )
    yield (f"total {estimate.total:,.2f} USD a month; {variable / minutes:.4f} USD per source minute uploaded this "
           f"month (fixed costs aside; storage is the whole {v.months}-month library's)")  # fmt: skip
    transcode = sum(line.usd for line in estimate.lines if line.resource.startswith("mediaTasks")
                    or line.service == "Step Functions")  # fmt: skip
    yield ""
    yield f"the transcode alone (Lambda media tasks + Step Functions): {transcode / minutes:.5f} USD per source minute"
    for name, usd in references(minutes, prices).items():
        yield (f"  reference: {name}, the same {len(LADDER)}-rung ladder: {usd / minutes:.5f} USD per source minute "
               f"({usd / transcode:.1f} x)")  # fmt: skip
    yield from _assumptions(v, deploy, speed)


def _assumptions(v: Volume, deploy: Deployment, speed: Speed) -> Iterable[str]:
    yield ""
    yield "from the templates and this machine:"
    yield (f"  mediaTasks {deploy.media_memory_mb} MB, chunks of {deploy.chunk_seconds} s, "
           f"{deploy.fixed_transitions} + {deploy.transitions_per_chunk} per chunk state transitions a video "
           f"(walked from the workflow's definition), {deploy.queues} queues polled by functions, "
           f"{deploy.alarms} alarms and {deploy.dashboards} dashboards ({deploy.alarms_counted}), "
           f"{deploy.metrics} custom metrics")  # fmt: skip
    rungs = ", ".join(f"{name} {cpu:.1f}" for name, cpu in speed.per_rung.items())
    plan = "plan + assemble measured" if speed.stages else "plan + assemble not measured (make bench-scale does)"
    yield (f"  encoders measured {speed.measured_at}: {speed.all_rungs:.1f} CPU-s per source minute for every rung "
           f"from one decode (each alone: {rungs}), audio {speed.audio:.1f}; {plan}")  # fmt: skip
    yield "assumed (options change them):"
    yield (f"  a view plays {v.watched:.0%} of a video at {v.rung}; {v.shared:.0%} of views are others' through a "
           f"share link or the public page (no sign-in, no live socket; fresh links every 10 minutes), each page load "
           f"fetching {v.site_kb:g} KB of the website; sources {v.source_mbps:g} Mb/s; the library holds "
           f"{v.months} months (sources cold after 30 days, outputs not watched after a month); "
           f"{v.mail_share:.0%} of uploaders get e-mail; other functions run {v.small_function_seconds:g} s; "
           f"{v.log_kb_per_invocation:g} KB of logs an invocation; no free tier, no CDN (S3 presigned playback); "
           f"a Lambda vCPU as fast as one core here")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    defaults = Volume()
    parser = argparse.ArgumentParser(prog="make cost", description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=defaults.uploads, help="uploads a month")
    parser.add_argument("--minutes", type=float, default=defaults.minutes, help="average source length, minutes")
    parser.add_argument("--views", type=int, default=defaults.views, help="views a month")
    parser.add_argument("--watched", type=float, default=defaults.watched, help="share of a video a view plays")
    parser.add_argument(
        "--shared", type=float, default=defaults.shared, help="share of views by others (share link, public page)"
    )
    parser.add_argument("--rung", choices=[name for name, *_ in LADDER], default=defaults.rung)
    parser.add_argument("--source-mbps", type=float, default=defaults.source_mbps)
    parser.add_argument("--months", type=int, default=defaults.months, help="months of uploads the library holds")
    parser.add_argument("--stage", default="prod", help="the stage whose params are priced (default prod)")
    options = parser.parse_args(argv)
    if options.uploads < 1 or options.minutes <= 0 or options.views < 0 or not 0 < options.watched <= 1:
        parser.error("--uploads at least 1, --minutes above 0, --views at least 0, --watched in (0, 1]")
    if not 0 <= options.shared <= 1:
        parser.error("--shared in [0, 1]")
    volume = Volume(uploads=options.uploads, minutes=options.minutes, views=options.views, watched=options.watched,
                    shared=options.shared, rung=options.rung, source_mbps=options.source_mbps,
                    months=max(1, options.months))  # fmt: skip
    prices = tomllib.loads(PRICES.read_text())
    topology = load(options.stage)
    deploy = deployment(topology, metrics=metric_count(topology))
    speed = measured_speed()
    for line in report(estimate(volume, deploy, speed, prices), deploy, speed, prices):
        print(line)
    return 0


def metric_count(topology: Topology) -> int:
    """Custom metrics CloudWatch bills: each metric (lambdakit.metrics) with each set of dimension values it takes.

    Assumed: each HTTP route answers 3 different statuses in a month; the authorizer refuses with 12 codes."""
    from contracts import FailureReason
    from lambdakit import metrics

    values = {
        metrics.API_REQUESTS.name: 3 * len(topology.routes),
        metrics.VIDEOS_FAILED.name: len(FailureReason),
        metrics.AUTHORIZER_REFUSALS.name: 12,
        metrics.MAILS_SENT.name: 2,  # READY, FAILED
    }
    return sum(values.get(metric.name, 1) for metric in metrics.ALL)


if __name__ == "__main__":
    raise SystemExit(main())
