"""The local stack: moto server on loopback, the services' resources, and their functions.

moto runs the state machines' executions (infra.provision.execute_state_machines); a queue-fed
function may run as several worker processes on its queue (`concurrency`), as Lambda scales an
SQS event source mapping: each its own process and log file ({key}.log, {key}.2.log, ...).
When the services declare `websocket` routes, the local WebSocket API (devstack.sockets) serves them and
their @connections management endpoint, which the functions reach through WEBSOCKET_MANAGEMENT_URL.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from moto.server import ThreadedMotoServer

from devstack.gateway import JWKS_PATH, OPENAPI_PATH, Gateway
from devstack.issuer import Issuer
from devstack.mailbox import MAILBOX_PATH, sent_mail
from devstack.oidc import DISCOVERY_PATH, Provider, web_client
from devstack.signin import pages
from devstack.site import SiteServer, site_config
from devstack.sockets import SocketApi
from infra import LOCAL_CREDENTIALS, REGION, ROOT, Invocable, Route, Site, Topology, WebSocketRoute, load, local_session
from infra.deployment import API_SERVICES, Deployment, resources
from infra.deployment import Issuer as DeployedIssuer
from infra.provision import execute_state_machines, provision

LOCAL_MAIL_SENDER = "videos@24hour-video.local"  # verified in the local SES: mail to uploaders comes from it
DEFAULT_WEB_PORT = 8081  # where `python -m devstack up` serves the website unless told otherwise


class LocalStack:
    """Start with `with LocalStack() as stack:`; everything stops when the block ends."""

    def __init__(
        self,
        *,
        stage: str = "local",
        port: int = 0,
        api_port: int = 0,
        log_dir: Path | None = None,
        params: dict[str, str] | None = None,
        concurrency: dict[str, int] | None = None,
        site: Path | None = None,
        web_port: int = 0,
        site_origins: Sequence[str] = (),
        ws_port: int = 0,
        root: Path = ROOT,
    ) -> None:
        self.stage, self._port, self._api_port, self._web_port = stage, port, api_port, web_port
        self._ws_port, self.root = ws_port, root  # root: the repository whose services run (tests use others)
        self.params = dict(params or {})  # the stage params; start() adds the local issuer's
        self.topology = load(stage, root=root)
        self.concurrency = self._checked_concurrency(concurrency or {})
        self.issuer = Issuer.load()
        # the website's sign-in (development only): it may return to <origin>/callback of each site origin
        self._site_origins = list(site_origins)
        self.oidc = Provider(self.issuer, [web_client(site_origins)])
        openapi = ROOT / "shared" / "openapi.json"  # make openapi writes it; a contract test keeps it current
        self.gateway = Gateway(
            self.invoke,
            documents={
                JWKS_PATH: self.issuer.jwks,
                OPENAPI_PATH: lambda: json.loads(openapi.read_text()),
                MAILBOX_PATH: lambda: {"messages": sent_mail()},
            },
            pages=pages(self.oidc),
        )
        self.api = ""
        self.site = SiteServer(site) if site else None  # the website (services/web/dist), when asked for
        self.web = ""
        self.sockets: SocketApi | None = None  # the WebSocket API, when the services declare websocket routes
        self.websocket = ""  # its ws:// URL
        self.websocket_management = ""  # its @connections endpoint: the functions' WEBSOCKET_MANAGEMENT_URL
        self._invoke_ports: dict[str, int] = {}
        self.log_dir = log_dir or ROOT / ".demo" / "logs"
        self._server: ThreadedMotoServer | None = None
        self._workers: dict[str, subprocess.Popen[bytes]] = {}  # by worker name: {key}, {key}.2, ...
        self._logs: list[IO[bytes]] = []
        self.endpoint = ""
        self.session = local_session()

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:  # a failed or interrupted start leaves no process behind
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        # The API first: its port goes into the authorizer's JWKS URL (a stage param, as compose would set it).
        self.api = self.gateway.start(self._api_port)
        self.oidc.base_url = self.api
        self.params |= self.issuer_params()
        if self.site:  # its origin goes into the buckets' CORS rules (a stage param in AWS too)
            self.web = self.site.start(self._web_port)
            self.params |= {"webOrigin": self.web}
            self.oidc.clients = [web_client([*self._site_origins, self.web])]  # it signs in through the local issuer
        for name, value in self.mail_params().items():  # the caller's own params win
            self.params.setdefault(name, value)
        self.topology = load(self.stage, root=self.root, params=self.params)
        self.gateway.set_routes(self.topology.routes)
        self.sockets = self._socket_api(self.topology)
        if self.sockets:
            self.websocket = self.sockets.start(self._ws_port)
            self.websocket_management = self.sockets.management_url
            logging.getLogger("websockets").setLevel(logging.CRITICAL)  # a client going away is no error
        if self.site:
            self.site.config = site_config(self.api, push_url=self.websocket or None)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # moto keeps its state per process: start from nothing, even after an earlier stack in this process
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"), timeout=10)
        execute_state_machines(self.endpoint)  # before provisioning: moto keeps each mode's machines apart
        provision(self.topology, self.session, self.endpoint)
        if self.params.get("mailSender"):  # in AWS, the team verifies the sender (or its domain) in SES once
            ses = self.session.client("sesv2", endpoint_url=self.endpoint)
            ses.create_email_identity(EmailIdentity=self.params["mailSender"])
        if self.site:
            site = self._site()
            self.site.headers, self.site.behaviours = site.headers, site.behaviours
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for function in self.topology.functions:
            for worker in self.worker_names(function.key):
                self._start_worker(function, worker)
        for invocable in self.invoked_directly():
            self._start_worker(invocable, invocable.key)
        self._wait_for_workers()

    def _site(self) -> Site:
        """The website as CloudFront serves it: its headers (the embed page's too), the CSP naming the local origins
        instead of AWS's."""
        origins = {
            "apiOrigins": self.api,
            "identityOrigins": self.api,  # the local issuer is on the API's port
            "storageOrigins": self.endpoint,  # signed S3 URLs: moto
            "pushOrigins": self.websocket,
            "playbackOrigins": "",
        }
        self.params |= origins
        sites = load(self.stage, root=self.root, params=self.params).sites
        if len(sites) != 1:
            raise RuntimeError(f"expected one website among the services, found {len(sites)}")
        return sites[0]

    def _socket_api(self, topology: Topology) -> SocketApi | None:
        """The local WebSocket API of the services' websocket routes (all on one port, as the HTTP routes are)."""
        if not topology.websocket_routes:
            return None
        apis = topology.websocket_apis
        if len(apis) != 1:
            raise RuntimeError(
                f"the local stack serves one WebSocket API; {', '.join(a.service for a in apis)} declare one"
            )
        return SocketApi(
            self.invoke, topology.websocket_routes, route_selection=apis[0].route_selection, stage=self.stage
        )

    def function_environment(self, function: Invocable) -> dict[str, str]:
        """A function's environment as declared, with every HTTP API's URL (what playback links are built on) and the
        WebSocket API's management URL made the local ones."""
        local = dict.fromkeys(self.topology.http_api_urls.values(), self.api)  # one local API serves every route
        if self.websocket_management:
            local |= dict.fromkeys(
                (api.management_url for api in self.topology.websocket_apis), self.websocket_management
            )
        environment = {name: local.get(value, value) for name, value in function.environment.items()}
        if self.websocket_management and "WEBSOCKET_MANAGEMENT_URL" in environment:
            environment["WEBSOCKET_MANAGEMENT_URL"] = self.websocket_management
        return environment

    def _checked_concurrency(self, concurrency: dict[str, int]) -> dict[str, int]:
        """Worker processes per queue-fed function (1 unless given)."""
        known = {f.key for f in self.topology.functions}
        unknown = sorted(set(concurrency) - known)
        if unknown:
            raise ValueError(
                f"no queue-fed function {', '.join(unknown)} (concurrency is for these: {', '.join(sorted(known))})"
            )
        too_few = {key: n for key, n in concurrency.items() if n < 1}
        if too_few:
            raise ValueError(f"concurrency must be at least 1: {too_few}")
        return {key: concurrency.get(key, 1) for key in sorted(known)}

    def worker_names(self, key: str) -> list[str]:
        """The worker processes of a function: its key, then {key}.2, {key}.3, ..."""
        return [key if n == 1 else f"{key}.{n}" for n in range(1, self.concurrency.get(key, 1) + 1)]

    def mail_params(self) -> dict[str, str]:
        """Mail to uploaders from a local sender, linking to the local website (where `make up` serves it)."""
        return {"mailSender": LOCAL_MAIL_SENDER, "websiteUrl": self.web or f"http://127.0.0.1:{DEFAULT_WEB_PORT}"}

    def sent_mail(self) -> list[dict[str, Any]]:
        return sent_mail()

    def issuer_params(self) -> dict[str, str]:
        return {"jwtIssuer": self.issuer.issuer, "jwtAudience": self.issuer.audience, "jwksUrl": self.jwks_url}

    @property
    def jwks_url(self) -> str:
        return f"{self.api}{JWKS_PATH}"

    @property
    def discovery_url(self) -> str:
        return f"{self.api}{DISCOVERY_PATH}"

    def description(self) -> dict[str, Any]:
        """What a client of the running stack needs to find and use it (`python -m devstack up --ready-file`)."""
        deployment = Deployment(
            stage=self.stage,
            region=REGION,
            apis=dict.fromkeys(API_SERVICES, self.api),  # one local API serves every service's routes
            issuer=DeployedIssuer(self.issuer.issuer, self.issuer.audience, self.jwks_url),
            websocket=self.websocket or None,
            site=self.web or None,
            **resources(self.topology),
        ).to_json()
        return deployment | {
            # the local stack's own: moto's endpoint (boto3 with LOCAL_CREDENTIALS), its logs, the issuer's key
            "params": self.params,
            "endpoint": self.endpoint,
            "api": self.api,
            "web": self.web or None,
            "websocket_management": self.websocket_management or None,
            "mailbox": f"{self.api}{MAILBOX_PATH}",  # what SES sent (devstack/mailbox.py)
            "log_dir": str(self.log_dir),
            "logs": {worker: str(self.log_path(worker)) for worker in self._workers},
            "concurrency": self.concurrency,
            "state_machines": [{"name": m.name, "arn": m.arn} for m in self.topology.state_machines],
            "issuer": deployment["issuer"]
            | {
                "key_file": str(self.issuer.key_file),
                "kid": self.issuer.kid,
            },
            "oidc": {
                "discovery_url": self.discovery_url,
                "clients": [
                    {
                        "client_id": c.client_id,
                        "redirect_uris": list(c.redirect_uris),
                        "post_logout_redirect_uris": list(c.post_logout_redirect_uris),
                    }
                    for c in self.oidc.clients
                ],
            },
            "pid": os.getpid(),
        }

    def invoked_directly(self) -> list[Invocable]:
        """The functions behind API routes (HTTP and WebSocket) and their authorizers."""
        routes: list[Route | WebSocketRoute] = [*self.topology.routes, *self.topology.websocket_routes]
        keys = {r.function for r in routes} | {r.authorizer for r in routes if r.authorizer}
        return [self.topology.invocables[key] for key in sorted(keys)]

    def invoke(self, key: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke a function's process directly: {"result": ...} or {"error": {"type", "message"}}."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self._invoke_ports[key]}/invoke", data=json.dumps(event).encode(), method="POST"
        )
        timeout = self.topology.invocables[key].timeout + 5
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer

    def stop(self) -> None:
        if self.sockets:  # first: its connections close while the functions are still there
            self.sockets.stop()
            self.sockets = None
        for worker in self._workers.values():
            with suppress(ProcessLookupError):
                worker.terminate()
        for worker in self._workers.values():
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
        self._workers.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._server:
            self._server.stop()
            self._server = None
        self.gateway.stop()
        if self.site:
            self.site.stop()

    def worker_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return env | LOCAL_CREDENTIALS | {"AWS_ENDPOINT_URL": self.endpoint, "PYTHONUNBUFFERED": "1"}

    def log_path(self, function: Invocable | str) -> Path:
        """A worker's log file, by function (its first worker) or by worker name."""
        return self.log_dir / f"{function if isinstance(function, str) else function.key}.log"

    def _start_worker(self, function: Invocable, worker: str) -> None:
        spec = asdict(function) | {"service_dir": str(function.service_dir)}
        log = self.log_path(worker).open("wb")
        self._logs.append(log)
        env = self.worker_env() | self.function_environment(function) | {"AWS_LAMBDA_FUNCTION_NAME": function.key}
        self._workers[worker] = subprocess.Popen(
            [sys.executable, "-m", "devstack.worker", json.dumps(spec)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def _wait_for_workers(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self._workers)
        while pending and time.monotonic() < deadline:
            for worker in list(pending):
                if self._workers[worker].poll() is not None:
                    raise RuntimeError(f"function {worker} did not start:\n{self.tail(worker)}")
                for line in self.log_path(worker).read_text(errors="replace").splitlines():
                    if '"status": "ready"' in line:
                        port = json.loads(line).get("invoke_port")
                        if port:  # (only functions invoked directly, which run one worker each)
                            self._invoke_ports[worker] = port
                        pending.discard(worker)
                        break
            time.sleep(0.05)
        if pending:
            raise RuntimeError(f"functions did not start in {timeout:.0f}s: {', '.join(sorted(pending))}")

    def tail(self, function: Invocable | str, lines: int = 20) -> str:
        text = self.log_path(function).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])
