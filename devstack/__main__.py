"""python -m devstack {demo,up}: the local stack's command line (make demo, make up)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run one video through the pipeline and print a summary")
    demo.add_argument("--file", type=Path, help="your own video (default: a generated 4 s 1080p clip)")
    demo.add_argument("--timeout", type=float, default=300, help="seconds to wait for READY (default 300)")
    up = commands.add_parser("up", help="start the local stack and keep it running until Ctrl-C")
    up.add_argument("--port", type=int, default=4566, help="moto's port on 127.0.0.1 (default 4566)")
    up.add_argument("--api-port", type=int, default=8080, help="the HTTP API's port on 127.0.0.1 (default 8080)")
    up.add_argument("--web-port", type=int, default=8081, help="the website's port on 127.0.0.1 (default 8081)")
    up.add_argument(
        "--ws-port", type=int, default=8082, help="the WebSocket API's port on 127.0.0.1, if any (default 8082)"
    )
    up.add_argument("--no-site", action="store_true", help="do not build and serve the website")
    up.add_argument("--log-dir", type=Path, help="where each function's log file goes (default .demo/logs)")
    up.add_argument(
        "--param",
        type=_param,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a stage param, as compose would pass it (repeat for several)",
    )
    up.add_argument(
        "--concurrency",
        type=_concurrency,
        action="append",
        default=[],
        metavar="FUNCTION=N",
        help="worker processes for a queue-fed function, e.g. transcode-mediaTasks=3 (default 1; repeat for several)",
    )
    up.add_argument(
        "--site-origin",
        type=_site_origin,
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a website origin (e.g. http://127.0.0.1:5173) that may sign in through the local issuer: "
        "its ORIGIN/callback and ORIGIN/ become allowed redirects (repeat for several)",
    )
    up.add_argument("--ready-file", type=Path, help="once up, write a JSON description of the running stack here")
    token = commands.add_parser("token", help="print an access token for a user, signed by the local issuer")
    token.add_argument("user", help="user name (the same name always gets the same sub)")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    args = parser.parse_args(argv)

    if args.command == "token":
        from devstack.issuer import Issuer

        print(Issuer.load().token(args.user, ttl=args.ttl))
        return 0

    if args.command == "demo":
        from devstack.demo import run_demo

        return run_demo(args.file, timeout=args.timeout)

    from devstack.stack import LocalStack
    from tools.website import BuildFailed, build

    site = None
    if not args.no_site:
        try:
            site = build()
        except BuildFailed as problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
    try:
        local = LocalStack(
            site=site,
            web_port=args.web_port,
            port=args.port,
            api_port=args.api_port,
            log_dir=args.log_dir,
            params=dict(args.param),
            concurrency=dict(args.concurrency),
            site_origins=args.site_origin,
            ws_port=args.ws_port,
        )
    except ValueError as problem:  # a --concurrency for a function that is not there
        up.error(str(problem))
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the stack as Ctrl-C does
    with local as stack:
        if stack.web:
            print(f"website: {stack.web}  (sign in with any user name at the local issuer)")
        print(f"local stack up: API {stack.api} (Authorization: Bearer $(make token USER=alice))")
        print(f"  AWS_ENDPOINT_URL={stack.endpoint} (any access key; region us-east-1)")
        for route in stack.topology.routes:
            print(f"  {route.method:<6} {route.path:<16} -> {route.function}")
        if stack.websocket:
            print(f"  WebSocket API {stack.websocket} (@connections: {stack.websocket_management})")
            for socket in stack.topology.websocket_routes:
                print(f"  {socket.route_key:<23} -> {socket.function}")
        for service in stack.topology.services.values():
            for logical_id, physical in service.resources.items():
                print(f"  {service.name:<10} {logical_id:<28} {physical}")
        for machine in stack.topology.state_machines:
            print(f"  state machine {machine.name} ({machine.type}): {machine.arn}")
        for key, workers in stack.concurrency.items():
            print(f"  {key:<38} {workers} worker{'s' if workers > 1 else ''} on its queue")
        print(
            f'try: curl -H "Authorization: Bearer $(make token USER=alice)" -d '
            f'\'{{"filename": "a.mp4", "content_type": "video/mp4", "size": 1000}}\' {stack.api}/uploads'
        )
        print(f"OpenAPI document of the API: {stack.api}/openapi.json")
        web = stack.oidc.clients[0]
        print(f"OpenID Connect discovery (local sign-in, development only): {stack.discovery_url}")
        redirects = ", ".join(web.redirect_uris) or "none yet (--site-origin ORIGIN)"
        print(f"  client {web.client_id}, redirect URIs: {redirects}")
        print(f"function logs: {stack.log_dir}/ ; Ctrl-C to stop", flush=True)
        try:
            if args.ready_file:
                write_atomically(args.ready_file, stack.description())
                print(f"ready file: {args.ready_file}", flush=True)
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop at a time: let this one finish
            print("\nstopping", flush=True)
        finally:
            if args.ready_file:
                args.ready_file.unlink(missing_ok=True)  # it describes a stack that is going away
    return 0


def _param(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def _concurrency(text: str) -> tuple[str, int]:
    name, value = _param(text)
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: N must be a whole number, at least 1")
    return name, int(value)


def _site_origin(text: str) -> str:
    """Checked while parsing, before the website is built (a build rewrites services/web/dist)."""
    from devstack.oidc import site_origin

    try:
        site_origin(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None
    return text


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def write_atomically(path: Path, content: dict[str, Any]) -> None:
    """Readers see no file or the whole file, never a part (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as temporary:
        json.dump(content, temporary, indent=2)
    os.replace(temporary.name, path)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C while starting or stopping: the stack's context has cleaned up
        print("\nstopped")
        sys.exit(130)
