"""Push benchmark: how long a catalog change takes to reach the owner's WebSocket, against polling the API.

What it measures
    On the local stack (`python -m devstack up` in its own process, as tests/e2e and bench/scale.py run it), one
    signed-in user with the notify WebSocket open (`?token=`, through the auth service's authorizer) and one video
    of theirs. The benchmark plays the transcode workflow: it publishes --changes VideoTranscodeProgress events
    (chunk 1, 2, ... of --changes) to the transcoder's `video-events` topic, one at a time, each after the previous
    one's push arrived and a random pause (0.3 to 1.2 s, --seed), so changes fall at every phase of the poll. The
    real catalog applies each (PROCESSING with that progress) and announces a VideoStatusChanged; the real
    notifier posts the StatusPush to the socket.

    push latency  time.time() when the StatusPush is read off the socket, minus its `occurred_at`: the catalog's
                  clock read right after its conditional write of that progress, before it publishes. Included:
                  the SNS publish and fan-out to the notifier's queue, the notifier's queue poll, its
                  connections query, the @connections post and the socket. Not included: the catalog picking
                  the progress event off its own queue and writing it (see "sent -> socket" for the whole way).
    poll latency  the baseline, the website's previous way (services/web/src/live.ts polled GET /videos/{id}
                  every 3 s while visible): a poller in its own thread, started at a random phase, GETs the
                  video every --poll-interval s through the API (authorizer included); a change counts as seen
                  when a response shows its progress or more (a later one hides it, as on the page), and its
                  latency is that response's arrival minus the same `occurred_at`. Same changes, same run.
    Clock: every process runs on this machine; the catalog stamps `occurred_at` with datetime.now(UTC) and this
    script reads time.time(), the same system clock. Loopback only: no network, no cold starts, no API Gateway.

How to read it
    median, p95, max over the changes (p95 by the inclusive method); push/poll the ratio of the two; the aim is a
    push p95 under 1 s. Timings on a 2-core machine shared with other work are noisy: the load average is printed.

Run from the repository root: `.venv/bin/python bench/push.py [--changes 100]` (or `make bench-push ARGS="..."`).
Progress goes to stderr, the report to stdout. Exit 0 when it ran (a missed aim is printed, not failed), 1 when
the stack or a push fails.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
IMPORT_PATHS = [REPO, REPO / "shared" / "src"]
sys.path[:0] = [str(path) for path in IMPORT_PATHS]

import requests  # noqa: E402
from websockets.sync.client import ClientConnection, connect  # noqa: E402

from bench.machine import BenchError, local_stack  # noqa: E402
from contracts import SourceObject, StatusPush, VideoTranscodeProgress, stable_event_id, upload_key  # noqa: E402
from contracts.delivery import sns_message  # noqa: E402
from contracts.events import utc_now  # noqa: E402
from devstack.issuer import Issuer  # noqa: E402
from infra import load, local_session  # noqa: E402

USER = "bench-push"
AIM_P95 = 1.0  # seconds, push
PUSH_TIMEOUT = 30  # seconds for one change's push
PAUSE = (0.3, 1.2)  # seconds between a push and the next change


def say(message: str) -> None:
    print(f"push: {message}", file=sys.stderr, flush=True)


class Transcoder:
    """Publishes what the transcode workflow publishes after each chunk, for one video."""

    def __init__(self, ready: dict[str, Any], owner: str, video_id: str, total: int) -> None:
        topology = load(ready["stage"], params=ready["params"])
        self.topic = topology.physical("transcode", "VideoEventsTopic")
        self.sns = local_session(ready["region"]).client("sns", endpoint_url=ready["endpoint"])
        key = upload_key(owner, video_id, "bench.mp4")
        self.source = SourceObject(bucket=topology.physical("upload", "UploadsBucket"), key=key, version="bench")
        self.owner, self.video_id, self.total = owner, video_id, total

    def chunk_done(self, done: int) -> float:
        """Publish `done` of `total` chunks encoded; the time.time() of the send."""
        event = VideoTranscodeProgress(
            event_id=stable_event_id("VideoTranscodeProgress", self.video_id, str(done)), occurred_at=utc_now(),
            correlation_id=f"bench-{done}", video_id=self.video_id, owner=self.owner, source=self.source,
            chunks_done=done, chunks_total=self.total,
        )  # fmt: skip
        sent = time.time()
        self.sns.publish(TopicArn=self.topic, **sns_message(event))
        return sent


@dataclass
class Change:
    progress: float
    sent: float  # time.time() of the publish to video-events
    written: float  # the push's occurred_at: the catalog's write
    pushed: float  # time.time() when the push was read off the socket


@dataclass
class Poller:
    """GET /videos/{id} every `interval` s (the website's previous way): each answer's arrival and progress."""

    api: str
    token: str
    video_id: str
    interval: float
    seen: list[tuple[float, float]] = field(default_factory=list)  # (time.time() of the answer, progress)
    stop: threading.Event = field(default_factory=threading.Event)
    error: str | None = None

    def run(self, phase: float) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        next_at = time.monotonic() + phase
        while not self.stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.interval
            response = session.get(f"{self.api}/videos/{self.video_id}", timeout=30)
            if response.status_code == 200:
                self.seen.append((time.time(), float(response.json().get("progress") or 0)))
            elif response.status_code != 404:  # 404 until the first change is written
                self.error = f"GET /videos/{self.video_id} answered {response.status_code}: {response.text[:200]}"
                return

    def latency(self, change: Change) -> float | None:
        """From the change's write to the first answer that shows it (or a later progress), if one did."""
        arrivals = [at for at, progress in self.seen if progress >= change.progress]
        return min(arrivals) - change.written if arrivals else None


def next_push(ws: ClientConnection, progress: float, deadline: float) -> tuple[StatusPush, float]:
    """The push of this progress (earlier ones repeated at least once are skipped); it and its arrival time."""
    while (left := deadline - time.monotonic()) > 0:
        try:
            raw = ws.recv(timeout=left)
        except TimeoutError:
            break
        arrived = time.time()
        push = StatusPush.model_validate_json(raw)
        if push.progress is not None and push.progress >= progress:
            return push, arrived
    raise BenchError(f"no push of progress {progress:.4f} within {PUSH_TIMEOUT}s")


def measure(ready: dict[str, Any], options: argparse.Namespace) -> tuple[list[Change], Poller]:
    issuer = Issuer.load(Path(ready["issuer"]["key_file"]))
    token, video_id = issuer.token(USER), uuid.uuid4().hex
    transcoder = Transcoder(ready, issuer.subject(USER), video_id, options.changes)
    poller = Poller(ready["api"], token, video_id, options.poll_interval)
    pauses = random.Random(options.seed)
    changes: list[Change] = []
    with connect(f"{ready['websocket']}/?token={token}", open_timeout=15) as ws:
        thread = threading.Thread(target=poller.run, args=(pauses.uniform(0, options.poll_interval),), daemon=True)
        thread.start()
        for done in range(1, options.changes + 1):
            progress = round(done / options.changes, 4)
            sent = transcoder.chunk_done(done)
            push, arrived = next_push(ws, progress, time.monotonic() + PUSH_TIMEOUT)
            changes.append(Change(progress, sent, push.occurred_at.timestamp(), arrived))
            if done % 10 == 0 or done == options.changes:
                say(f"{done}/{options.changes} changes pushed (last: {arrived - changes[-1].written:.3f}s)")
            time.sleep(pauses.uniform(*PAUSE))
        deadline = time.monotonic() + 3 * options.poll_interval + 30
        while poller.latency(changes[-1]) is None and poller.error is None and time.monotonic() < deadline:
            time.sleep(0.1)  # until a poll has shown the last change
        poller.stop.set()
        thread.join(timeout=35)
    if poller.error:
        raise BenchError(poller.error)
    return changes, poller


def spread(values: list[float]) -> tuple[float, float, float]:
    """Median, p95 (inclusive) and max."""
    p95 = statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 else values[0]
    return statistics.median(values), p95, max(values)


def report(changes: list[Change], poller: Poller, options: argparse.Namespace) -> None:
    push = [c.pushed - c.written for c in changes]
    whole = [c.pushed - c.sent for c in changes]
    polled = [latency for c in changes if (latency := poller.latency(c)) is not None]
    print(f"push latency over {len(changes)} changes of one video, catalog write -> message on the owner's socket")
    print(f"(load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs)")
    print(f"  {'':<38}{'median':>9}{'p95':>9}{'max':>9}")
    rows = [("push (WebSocket)", push), (f"poll GET /videos/{{id}} every {options.poll_interval:g} s", polled),
            ("push, sent to video-events -> socket", whole)]  # fmt: skip
    for name, values in rows:
        print(f"  {name:<38}" + "".join(f"{v:>8.3f}s" for v in spread(values)))
    (push_median, push_p95, _), (poll_median, poll_p95, _) = spread(push), spread(polled)
    print(f"  {'push / poll':<38}{push_median / poll_median:>9.3f}{push_p95 / poll_p95:>9.3f}")
    missed = len(changes) - len(polled)
    if missed:
        print(f"  ({missed} changes never shown by a poll answer; left out of the poll row)")
    print(f"  {poller.interval:g} s polling: {len(poller.seen)} GETs for {len(changes)} changes")
    met = "met" if push_p95 < AIM_P95 else "NOT met"
    print(f"aim: push p95 < {AIM_P95:g} s: {met} (p95 {push_p95:.3f}s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100, help="status changes to measure (default 100)")
    parser.add_argument("--poll-interval", type=float, default=3.0, help="the baseline's poll period (default 3 s)")
    parser.add_argument("--seed", type=int, default=24, help="seed of the pauses between changes (default 24)")
    options = parser.parse_args()
    if options.changes < 2 or options.poll_interval <= 0:
        parser.error("--changes at least 2, --poll-interval above 0")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-push-") as folder:
            say("starting the local stack")
            with local_stack(Path(folder), "--no-site") as ready:
                say(f"stack up: WebSocket {ready['websocket']}, API {ready['api']}")
                changes, poller = measure(ready, options)
        report(changes, poller, options)
    except BenchError as exc:
        print(f"push: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
