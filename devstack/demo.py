"""`make demo`: one video through the whole pipeline on the local stack, with a summary."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import mediatools
from devstack.stack import LocalStack
from devstack.topology import ROOT

DEMO_DIR = ROOT / ".demo"
DEMO_OWNER = "demo-user"


class DemoFailed(Exception):
    pass


def say(message: str) -> None:
    print(message, flush=True)


def make_sample(path: Path, *, seconds: int = 4, width: int = 1920, height: int = 1080) -> Path:
    """A short 1080p test pattern with a tone, made with the bundled ffmpeg."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = [
        mediatools.binaries()[0], "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
    ]  # fmt: skip
    subprocess.run(args, check=True, timeout=120)
    return path


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _size(num: float | None) -> str:
    if num is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if num < 1024 or unit == "GiB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return ""


@dataclass
class Upload:
    video_id: str
    bucket: str
    key: str
    seconds: float


def upload(stack: LocalStack, file: Path) -> Upload:
    video_id = uuid.uuid4().hex
    bucket = stack.name("upload", "UploadsBucket")
    key = f"uploads/{DEMO_OWNER}/{video_id}/{file.name}"
    started = time.monotonic()
    stack.client("s3").upload_file(str(file), bucket, key, ExtraArgs={"ContentType": "video/mp4"})
    return Upload(video_id, bucket, key, time.monotonic() - started)


def wait_until_final(stack: LocalStack, video_id: str, *, timeout: float) -> dict[str, Any]:
    """Poll the catalog, printing each status change and a heartbeat while transcoding."""
    table = stack.resource("dynamodb").Table(stack.name("metadata", "CatalogTable"))
    transcoded = stack.name("transcode", "TranscodedBucket")
    s3 = stack.client("s3")
    started, last, last_beat = time.monotonic(), None, 0.0
    while (elapsed := time.monotonic() - started) < timeout:
        item = table.get_item(Key={"video_id": video_id}, ConsistentRead=True).get("Item")
        # (.get: moto writes an item attribute by attribute, so a read may see it half-written)
        status = (item or {}).get("status") or "waiting for the upload event"
        if status != last:
            say(f"  [{elapsed:5.1f}s] {status}")
            last, last_beat = status, elapsed
        elif elapsed - last_beat >= 2:
            files = s3.list_objects_v2(Bucket=transcoded, Prefix=f"videos/{video_id}/").get("KeyCount", 0)
            doing = "reading rendition metadata" if status == "PROCESSING" else "transcoding"
            say(f"  [{elapsed:5.1f}s] ... {doing} ({files} files written so far)")
            last_beat = elapsed
        if status in ("READY", "FAILED") and "status_rank" in item:  # written last
            return _plain(item)
        time.sleep(0.2)
    raise DemoFailed(f"the video was not READY after {timeout:.0f}s (last status: {last})")


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's Decimals as ints and floats."""
    return json.loads(json.dumps(item, default=lambda d: int(d) if d == d.to_integral_value() else float(d)))


def summary(item: dict[str, Any], sent: Upload, total: float) -> str:
    lines = [f'Video {item["video_id"]}  "{item.get("title")}"  owner={item.get("owner")}  status={item["status"]}']
    lines.append("")
    lines.append("Renditions")
    lines.append(f"  {'name':<7}{'resolution':>12}{'size':>12}{'duration':>10}{'video':>22}{'audio':>22}")
    for rendition in item.get("renditions", []):
        meta = rendition.get("metadata", {})
        video, audio = meta.get("video") or {}, meta.get("audio") or {}
        video_text = f"{video.get('codec')} {video.get('fps')}fps {(video.get('bitrate') or 0) // 1000}kb/s"
        audio_text = f"{audio.get('codec')} {audio.get('channels')}ch {audio.get('sample_rate')}Hz" if audio else "none"
        lines.append(
            f"  {rendition['name']:<7}{rendition['width']:>6}x{rendition['height']:<5}"
            f"{_size(rendition['size_bytes']):>12}{meta.get('duration_seconds', 0):>9.2f}s"
            f"{video_text:>22}{audio_text:>22}"
        )
        lines.append(f"         s3://{rendition['bucket']}/{rendition['key']}")
    poster = item.get("poster") or {}
    if poster:
        lines.append("")
        lines.append(f"Poster   {poster['width']}x{poster['height']} JPEG, {_size(poster['size_bytes'])}")
        lines.append(f"         s3://{poster['bucket']}/{poster['key']}")
    meta = item.get("metadata") or {}
    lines.append("")
    lines.append(
        f"Metadata container={meta.get('container')} duration={meta.get('duration_seconds')}s "
        f"bitrate={(meta.get('bitrate') or 0) // 1000}kb/s"
    )
    source = item.get("source") or {}
    lines.append(f"Source   s3://{source.get('bucket')}/{source.get('key')} ({_size(source.get('size_bytes'))})")
    transcode = item.get("transcode") or {}
    timings = transcode.get("timings") or {}
    stages = [
        ("upload to S3 (client)", sent.seconds),
        ("S3 event -> transcode start", _seconds_between(item.get("uploaded_at"), transcode.get("started_at"))),
        *[(f"transcode: {step}", seconds) for step, seconds in timings.items()],
        ("transcoded -> READY (metadata)", _seconds_between(item.get("transcoded_at"), item.get("ready_at"))),
        ("  of which ffprobe of renditions", item.get("metadata_seconds")),
        ("end to end (upload -> READY)", total),
    ]
    lines.append("")
    lines.append("Time spent")
    lines += [f"  {name:<34}{seconds:>7.2f}s" for name, seconds in stages if seconds is not None]
    return "\n".join(lines)


def download_outputs(stack: LocalStack, item: dict[str, Any]) -> Path:
    target = DEMO_DIR / "out" / item["video_id"]
    target.mkdir(parents=True, exist_ok=True)
    s3 = stack.client("s3")
    for obj in [*item.get("renditions", []), item.get("poster")]:
        if obj:
            s3.download_file(obj["bucket"], obj["key"], str(target / Path(obj["key"]).name))
    return target


def run_demo(file: Path | None, *, timeout: float = 300) -> int:
    if file is not None and not file.is_file():
        say(f"error: {file} is not a file")
        return 2
    say("24-Hour Video demo: one video through upload -> transcode -> metadata on the local stack")
    started = time.monotonic()
    with LocalStack() as stack:
        say(
            f"==> local stack up in {time.monotonic() - started:.1f}s: moto at {stack.endpoint}, "
            f"{len(stack.topology.buckets)} buckets, {len(stack.topology.topics)} topics, "
            f"{len(stack.topology.queues)} queues, {len(stack.topology.tables)} table, "
            f"{len(stack.topology.functions)} functions (from services/*/serverless.yml)"
        )
        if file is None:
            say("==> making a 4 s 1080p sample clip with the bundled ffmpeg")
            file = make_sample(DEMO_DIR / "sample.mp4")
        upload_started = time.monotonic()
        sent = upload(stack, file)
        say(f"==> uploaded {file.name} ({_size(file.stat().st_size)}) to s3://{sent.bucket}/{sent.key}")
        try:
            item = wait_until_final(stack, sent.video_id, timeout=timeout)
        except DemoFailed as exc:
            say(f"FAILED: {exc}")
            say(f"queue depths: {stack.queue_depths()}")
            for function in stack.topology.functions:
                say(f"--- last lines of {stack.log_path(function)}\n{stack.tail(function, 5)}")
            return 1
        total = time.monotonic() - upload_started
        if item["status"] == "FAILED":
            failure = item.get("failure", {})
            say(f"FAILED: {failure.get('code')}: {failure.get('reason')}")
            return 1
        outputs = download_outputs(stack, item)
        say("")
        say(summary(item, sent, total))
        say("")
        say(f"Files saved to {outputs.relative_to(ROOT)}/ ; function logs in {stack.log_dir.relative_to(ROOT)}/")
    return 0
