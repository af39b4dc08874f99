"""`make demo`: one video through the whole pipeline on the local stack, followed live by its pushes, with a summary."""

from __future__ import annotations

import json
import mimetypes
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

import mediatools
from contracts import StatusPush
from devstack.stack import LocalStack
from infra import ROOT

DEMO_DIR = ROOT / ".demo"
DEMO_USER = "demo-user"


class DemoFailed(Exception):
    pass


def say(message: str) -> None:
    print(message, flush=True)


def make_sample(path: Path, *, seconds: int = 4, width: int = 1920, height: int = 1080) -> Path:
    """A short 1080p test pattern with a tone, made with the bundled ffmpeg."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = [
        mediatools.ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
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
    key: str
    seconds: float


class Client:
    """The API as a signed-in user uses it."""

    def __init__(self, api: str, token: str) -> None:
        self.api, self.session = api, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.api}{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            raise DemoFailed(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        return response.json()


def upload(client: Client, file: Path) -> Upload:
    """POST /uploads, then the file straight to S3 as a browser would: by the form's POST, or, above the
    multipart threshold, part by part to the signed URLs and POST /uploads/{video_id}/complete."""
    content_type = mimetypes.guess_type(file.name)[0] or "video/mp4"
    if not content_type.startswith("video/"):
        content_type = "video/mp4"
    started = time.monotonic()
    answer = client.call("POST", "/uploads", json={"filename": file.name, "content_type": content_type,
                                                   "size": file.stat().st_size})  # fmt: skip
    if "parts" in answer:
        _upload_parts(client, file, answer)
        return Upload(answer["video_id"], f"{file.name} (multipart, {len(answer['parts'])} parts)",
                      time.monotonic() - started)  # fmt: skip
    with file.open("rb") as handle:
        posted = requests.post(
            answer["url"], data=answer["fields"], files={"file": (file.name, handle, content_type)}, timeout=600
        )
    if posted.status_code >= 300:
        raise DemoFailed(f"S3 refused the upload form: {posted.status_code} {posted.text[:300]}")
    return Upload(answer["video_id"], answer["fields"]["key"], time.monotonic() - started)


def _upload_parts(client: Client, file: Path, answer: dict[str, Any]) -> None:
    """Each part PUT to its signed URL (one part in memory at a time), then the upload completed with S3's ETags."""
    size, done = answer["part_size"], []
    with file.open("rb") as handle:
        for part in answer["parts"]:
            handle.seek((part["part_number"] - 1) * size)
            put = requests.put(part["url"], data=handle.read(size), timeout=600)
            if put.status_code >= 300:
                raise DemoFailed(f"S3 refused part {part['part_number']}: {put.status_code} {put.text[:300]}")
            done.append({"part_number": part["part_number"], "etag": put.headers["ETag"]})
    client.call("POST", f"/uploads/{answer['video_id']}/complete",
                json={"upload_id": answer["upload_id"], "parts": done})  # fmt: skip


def wait_until_final(client: Client, video_id: str, *, timeout: float) -> dict[str, Any]:
    """Poll GET /videos/{id}, printing each status change and a heartbeat while it works."""
    started, last, last_beat = time.monotonic(), None, 0.0
    while (elapsed := time.monotonic() - started) < timeout:
        response = client.session.get(f"{client.api}/videos/{video_id}", timeout=30)
        video: dict[str, Any] | None = response.json() if response.status_code == 200 else None
        status = video["status"] if video else "waiting for the upload event"
        if video and status == "PROCESSING" and video.get("progress") is not None:
            status = f"PROCESSING {video['progress']:.0%} of the chunks encoded"
        if status != last:
            say(f"  [{elapsed:5.1f}s] {status}")
            last, last_beat = status, elapsed
        elif elapsed - last_beat >= 2:
            say(f"  [{elapsed:5.1f}s] ... {'transcoding' if status.startswith(('UPLOADED', 'PROCESSING')) else status}")
            last_beat = elapsed
        if video and status in ("READY", "FAILED"):
            return video
        time.sleep(0.3)
    raise DemoFailed(f"the video was not READY after {timeout:.0f}s (last status: {last})")


def open_pushes(stack: LocalStack, token: str) -> ClientConnection | None:
    """The signed-in user's live-status WebSocket (notify's $connect, token checked by the authorizer), or None."""
    if not stack.websocket:
        say("==> this stack serves no WebSocket API: following the video by polling GET /videos/{id} instead")
        return None
    try:
        pushes = connect(f"{stack.websocket}/?token={token}", open_timeout=15)
    except (InvalidHandshake, OSError, TimeoutError) as exc:
        say(f"==> the live-status WebSocket refused the connection ({exc}): polling GET /videos/{{id}} instead")
        return None
    say(f"==> connected to the live-status WebSocket {stack.websocket} (the token checked on $connect)")
    return pushes


def push_line(push: StatusPush) -> str:
    if push.status == "PROCESSING" and push.progress is not None:
        return f"PROCESSING {push.progress:.0%} of the chunks encoded"
    if push.status == "FAILED":
        return f"FAILED: {push.reason or 'no reason given'}"
    return str(push.status)


def follow_pushes(pushes: ClientConnection, video_id: str, started: float, *, timeout: float) -> bool:
    """Print each StatusPush of the video as it arrives until READY or FAILED (True); False if the socket closed."""
    newest = -1
    while time.monotonic() - started < timeout:
        try:
            push = StatusPush.model_validate_json(pushes.recv(timeout=2))
        except TimeoutError:
            say(f"  [{time.monotonic() - started:5.1f}s] ... transcoding (nothing pushed for 2 s)")
            continue
        except ConnectionClosed:
            say(f"  [{time.monotonic() - started:5.1f}s] the live-status WebSocket closed: polling from here")
            return False
        if push.video_id != video_id or push.sequence <= newest:
            continue  # another video's, or a repeat (pushes come at least once)
        newest = push.sequence
        say(f"  [{time.monotonic() - started:5.1f}s] pushed: {push_line(push)}")
        if push.status in ("READY", "FAILED"):
            return True
    raise DemoFailed(f"the video was not READY after {timeout:.0f}s (no final status pushed)")


def wait_for_video(
    client: Client, pushes: ClientConnection | None, video_id: str, started: float, *, timeout: float
) -> dict[str, Any]:
    """The video once READY or FAILED: followed by its pushes, then read once; by polling without them."""
    if pushes is not None and follow_pushes(pushes, video_id, started, timeout=timeout):
        video: dict[str, Any] = client.call("GET", f"/videos/{video_id}")
        return video
    return wait_until_final(client, video_id, timeout=max(1.0, timeout - (time.monotonic() - started)))


def check_playback(video: dict[str, Any], target: Path) -> str:
    """Download the smallest rendition by its signed URL and ffprobe it: proof that it plays."""
    if not video["renditions"]:
        return "no MP4 download (too long for one): stream it"
    smallest = min(video["renditions"], key=lambda r: r["size_bytes"] or 0)
    target.mkdir(parents=True, exist_ok=True)
    local = target / f"{smallest['name']}.mp4"
    with requests.get(smallest["url"], stream=True, timeout=60) as response:
        response.raise_for_status()
        with local.open("wb") as out:
            shutil.copyfileobj(response.raw, out)
    probe = mediatools.probe(mediatools.local_input(local))
    if probe.video is None or not probe.duration:
        raise DemoFailed(f"{local} does not play: no video stream")
    poster = video.get("poster") or {}
    if poster.get("url"):
        (target / "poster.jpg").write_bytes(requests.get(poster["url"], timeout=60).content)
    return (
        f"{smallest['name']} downloaded by its signed URL and probed: {probe.video.codec_name} "
        f"{probe.video.width}x{probe.video.height}, {probe.duration:.2f}s -> {local.relative_to(ROOT)}"
    )


def stream_lines(video: dict[str, Any]) -> list[str]:
    """The HLS ladder: what the master playlist offers a player, and how the source was cut."""
    stream = video.get("stream")
    if not stream:
        return []
    processing = video.get("processing") or {}
    chunks = processing.get("chunks") or 1
    audio = "encoded once, for the whole source" if stream["audio"] else "none"
    lines = [
        f"HLS stream  {chunks} chunk{'s encoded in parallel' if chunks > 1 else ''}, "
        f"{stream['segment_seconds']:g}s fMP4 segments, {stream['duration_seconds']:.2f}s, audio {audio}",
        "  master playlist rungs:",
        f"  {'name':<7}{'resolution':>12}{'BANDWIDTH':>12}{'AVERAGE':>10}{'FRAME-RATE':>12}  CODECS",
    ]
    for rung in stream["renditions"]:
        average = (rung.get("average_bandwidth") or 0) // 1000
        lines.append(
            f"  {rung['name']:<7}{rung['width']:>6}x{rung['height']:<5}{rung['bandwidth'] // 1000:>9}k/s"
            f"{average:>7}k/s{rung.get('frame_rate') or 0:>12.3f}  {rung['codecs']}"
        )
    thumbnails = video.get("thumbnails")
    if thumbnails:
        size = f"{thumbnails['width']}x{thumbnails['height']}"
        lines.append(f"  seek-bar thumbnails: {size} every {thumbnails['interval_seconds']:g}s")
    return [*lines, ""]


def check_stream(video: dict[str, Any]) -> list[str]:
    """Play the HLS link as a player would (no Authorization header): its master playlist, and ffprobe on it."""
    playback = video.get("playback") or {}
    if not playback.get("hls"):
        return []
    master = requests.get(playback["hls"], timeout=30)
    master.raise_for_status()
    args = [mediatools.ffprobe(), "-v", "error", "-protocol_whitelist", "http,https,tcp,tls"]
    args += ["-allowed_extensions", "ALL", "-show_entries", "format=duration:stream=codec_type", "-of", "json"]
    probed = json.loads(mediatools.run("ffprobe", [*args, playback["hls"]], timeout=120))
    kinds = sorted({s.get("codec_type") for s in probed.get("streams", [])})
    return [
        f"Playback HLS link (signed playlists, valid until {playback.get('expires_at')}):",
        f"  {playback['hls']}",
        "  its master playlist:",
        *[f"    {line}" for line in master.text.splitlines()],
        f"  ffprobe on the link: {' + '.join(kinds)}, {float(probed['format']['duration']):.2f}s",
        "",
    ]


def summary(video: dict[str, Any], sent: Upload, total: float) -> str:
    lines = [f'Video {video["video_id"]}  "{video.get("title")}"  status={video["status"]}', ""]
    lines += stream_lines(video)
    lines += ["MP4 downloads"]
    lines.append(f"  {'name':<7}{'resolution':>12}{'size':>12}{'duration':>10}{'video':>22}{'audio':>22}")
    for rendition in video.get("renditions", []):
        meta = rendition.get("metadata") or {}
        v, a = meta.get("video") or {}, meta.get("audio") or {}
        video_text = f"{v.get('codec')} {v.get('fps')}fps {(v.get('bitrate') or 0) // 1000}kb/s"
        audio_text = f"{a.get('codec')} {a.get('channels')}ch {a.get('sample_rate')}Hz" if a else "none"
        lines.append(
            f"  {rendition['name']:<7}{rendition['width']:>6}x{rendition['height']:<5}"
            f"{_size(rendition['size_bytes']):>12}{meta.get('duration_seconds') or 0:>9.2f}s"
            f"{video_text:>22}{audio_text:>22}"
        )
    poster = video.get("poster") or {}
    if poster:
        lines += ["", f"Poster   {poster['width']}x{poster['height']} JPEG, {_size(poster['size_bytes'])}"]
    meta = video.get("metadata") or {}
    lines += [
        "",
        f"Metadata container={meta.get('container')} duration={meta.get('duration_seconds')}s "
        f"bitrate={(meta.get('bitrate') or 0) // 1000}kb/s",
        f"Links    signed, valid until {video.get('urls_expire_at')}",
        f"Source   {sent.key}",
    ]
    processing = video.get("processing") or {}
    stages = [
        ("upload: form + POST to S3 (client)", sent.seconds),
        (
            "S3 event -> transcode start",
            _seconds_between(video.get("uploaded_at"), processing.get("transcode_started_at")),
        ),
        *[(f"workflow: {step}", seconds) for step, seconds in (processing.get("transcode_timings") or {}).items()],
        ("transcoded -> READY (metadata)", _seconds_between(processing.get("transcoded_at"), video.get("ready_at"))),
        ("  of which ffprobe of renditions", processing.get("metadata_seconds")),
        ("end to end (upload -> READY seen)", total),
    ]
    lines += ["", "Time spent"]
    lines += [f"  {name:<36}{seconds:>7.2f}s" for name, seconds in stages if seconds is not None]
    return "\n".join(lines)


def run_demo(file: Path | None, *, timeout: float = 300) -> int:
    if file is not None and not file.is_file():
        say(f"error: {file} is not a file")
        return 2
    say("24-Hour Video demo: a signed-in user uploads a video and plays it, on the local stack")
    started = time.monotonic()
    with LocalStack() as stack:
        topology = stack.topology
        say(
            f"==> local stack up in {time.monotonic() - started:.1f}s: API {stack.api} "
            f"({len(topology.routes)} routes behind the authorizer), moto {stack.endpoint}, "
            f"{len(topology.buckets)} buckets, {len(topology.queues)} queues, "
            f"{len(topology.functions) + len(stack.invoked_directly())} functions (from services/*/serverless.yml)"
        )
        if file is None:
            say("==> making a 4 s 1080p sample clip with the bundled ffmpeg")
            file = make_sample(DEMO_DIR / "sample.mp4")
        token = stack.issuer.token(DEMO_USER)
        say(f"==> signed in as {DEMO_USER} (a token from the local issuer, checked by the authorizer)")
        client = Client(stack.api, token)
        pushes = open_pushes(stack, token)
        try:
            return show_video(stack, client, pushes, file, timeout=timeout)
        finally:
            if pushes is not None:
                pushes.close()


def turn_on_mail(client: Client) -> str:
    """PUT /me: e-mail me when a video is READY or FAILED; the address the token gave."""
    profile = client.call("PUT", "/me", json={"email_notifications": True})
    say(f"==> PUT /me turned on e-mail about {DEMO_USER}'s videos (to {profile['email']}, the token's address)")
    return str(profile["email"])


def wait_for_mail(stack: LocalStack, address: str, *, timeout: float = 20) -> list[str]:
    """The message SES sent to `address` (moto's SES keeps it), as lines to print."""
    deadline = time.monotonic() + timeout
    while not (sent := [m for m in stack.sent_mail() if address in m["to"]]):
        if time.monotonic() > deadline:
            raise DemoFailed(f"no e-mail reached {address} within {timeout:.0f}s of READY")
        time.sleep(0.3)
    [mail] = sent  # one per final status, however often the change was delivered
    lines = [f"E-mail   sent through SES to {address} (moto's SES keeps it)", f"  From:    {mail['from']}",
             f"  Subject: {mail['subject']}", ""]  # fmt: skip
    return lines + [f"  | {line}" for line in mail["text"].splitlines()]


def show_video(
    stack: LocalStack, client: Client, pushes: ClientConnection | None, file: Path, *, timeout: float
) -> int:
    """Upload the file, follow it to READY, and print what came out (or the functions' last lines)."""
    try:
        address = turn_on_mail(client)
        upload_started = time.monotonic()
        sent = upload(client, file)
        say(f"==> POST /uploads gave video {sent.video_id}; uploaded {file.name} ({_size(file.stat().st_size)})")
        video = wait_for_video(client, pushes, sent.video_id, upload_started, timeout=timeout)
        total = time.monotonic() - upload_started
        if video["status"] == "FAILED":
            failure = video.get("failure") or {}
            say(f"FAILED: {failure.get('code')}: {failure.get('reason')}")
            return 1
        played = check_playback(video, DEMO_DIR / "out" / sent.video_id)
        mail = wait_for_mail(stack, address)
    except DemoFailed as exc:
        say(f"FAILED: {exc}")
        for key in [f.key for f in stack.topology.functions] + [f.key for f in stack.invoked_directly()]:
            say(f"--- last lines of {stack.log_path(key)}\n{stack.tail(key, 5)}")
        return 1
    say("")
    say(summary(video, sent, total))
    say("")
    for line in check_stream(video):
        say(line)
    say(f"Download {played}")
    say("")
    for line in mail:
        say(line)
    say("")
    say(f"Function logs in {stack.log_dir.relative_to(ROOT)}/")
    return 0
