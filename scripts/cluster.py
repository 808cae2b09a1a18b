"""``./majlis start --instances N``: N Rasa servers, N action servers and N WhatsApp receivers
behind HAProxy, on PostgreSQL, Redis and RabbitMQ (docs/deploy.md).

Every process gets its own 127.0.0.1 port; HAProxy listens on ``MAJLIS_PORT`` (default
5005) and sends WhatsApp webhooks (``/webhooks/whatsapp_cloud/webhook``) to the
receivers, the web chat's page and socket.io to the Rasa servers with sticky sessions
(a page stays on one server), everything else (REST, agent desk, the other channels) to
the Rasa servers in turn, each only while its readiness endpoint answers 200.  The launcher supervises
its children: one that dies is started again (as systemd would), so a SIGKILLed Rasa
server comes back and takes its share of the work queue again.

State for operators and tests: ``$MAJLIS_DATA_DIR/cluster/state.json`` (every process:
name, pid, port, readiness URL; rewritten when one is restarted) and per-process logs
next to it.

Settings (environment, defaults for this machine):

- ``MAJLIS_DATABASE_URL`` (``postgresql://postgres@127.0.0.1:5432/majlis``, created if missing):
  trackers, delivery, handoff, desk;
- ``MAJLIS_REDIS_HOST/PORT/DB/PREFIX`` (127.0.0.1, 6379, 0, majlis): Rasa's lock store;
- ``MAJLIS_RABBITMQ_HOST/PORT/USER/PASSWORD`` (127.0.0.1, 5672, guest, guest),
  ``MAJLIS_RABBITMQ_QUEUE`` (``majlis_events``: Rasa's event broker), ``MAJLIS_WORK_QUEUE``
  (``majlis.inbox``: receivers → Rasa servers);
- the channels' variables as for ``./majlis start`` (credentials.yml).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from ensure_model import model_path  # noqa: E402
from serve import WHATSAPP_CHANNEL, cors_args, effective_credentials, provide_rest_token  # noqa: E402

WEBHOOK_PATH = "/webhooks/whatsapp_cloud/webhook"
RASA_READY = "/webhooks/whatsapp_cloud/ready"
RECEIVER_READY = "/webhooks/whatsapp_cloud/ready"
LB_HEALTH = "/haproxy/health"
WEBCHAT_CHANNEL = "channels.webchat.channel.WebChatInput"
WEBCHAT_PAGE = "/webhooks/webchat"
WEBCHAT_SOCKET_PATH = "/webchat/socket.io"
#: HAProxy's cookie naming the Rasa server a web chat page is pinned to.
STICKY_COOKIE = "MAJLIS_SERVER"
#: A child that dies this soon after its start is started again only after a pause.
RESTART_PAUSE_S = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Child:
    """One supervised process."""

    name: str
    command: List[str]
    env: Dict[str, str]
    port: int
    ready_path: str
    log: Path
    process: Optional[subprocess.Popen] = None
    started_at: float = 0.0
    restarts: int = 0

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.started_at = time.monotonic()

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.ready_path}"

    def as_state(self) -> Dict[str, object]:
        return {"name": self.name, "pid": self.process.pid if self.process else None, "port": self.port,
                "ready": self.ready_url, "restarts": self.restarts, "log": str(self.log)}


@dataclass
class Backends:
    """Where PostgreSQL, Redis and RabbitMQ are (from the environment)."""

    database_url: str
    env: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Dict[str, str]) -> "Backends":
        url = env.get("MAJLIS_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/majlis"
        parsed = urllib.parse.urlsplit(url.replace("postgresql+psycopg2://", "postgresql://"))
        if parsed.scheme != "postgresql":
            raise SystemExit("[majlis] --instances needs PostgreSQL: set MAJLIS_DATABASE_URL=postgresql://...")
        rabbit = {k: env.get(f"MAJLIS_RABBITMQ_{k}", d) for k, d in
                  (("HOST", "127.0.0.1"), ("PORT", "5672"), ("USER", "guest"), ("PASSWORD", "guest"))}
        shared = {
            "MAJLIS_DATABASE_URL": url,
            "MAJLIS_PG_HOST": parsed.hostname or "127.0.0.1", "MAJLIS_PG_PORT": str(parsed.port or 5432),
            "MAJLIS_PG_DB": parsed.path.lstrip("/"), "MAJLIS_PG_USER": urllib.parse.unquote(parsed.username or ""),
            "MAJLIS_PG_PASSWORD": urllib.parse.unquote(parsed.password or ""),
            "MAJLIS_REDIS_HOST": env.get("MAJLIS_REDIS_HOST", "127.0.0.1"),
            "MAJLIS_REDIS_PORT": env.get("MAJLIS_REDIS_PORT", "6379"),
            "MAJLIS_REDIS_DB": env.get("MAJLIS_REDIS_DB", "0"),
            "MAJLIS_REDIS_PREFIX": env.get("MAJLIS_REDIS_PREFIX", "majlis"),
            **{f"MAJLIS_RABBITMQ_{k}": v for k, v in rabbit.items()},
            "MAJLIS_RABBITMQ_QUEUE": env.get("MAJLIS_RABBITMQ_QUEUE", "majlis_events"),
            "MAJLIS_RABBITMQ_EXCHANGE": env.get("MAJLIS_RABBITMQ_EXCHANGE", "rasa-exchange"),
            "MAJLIS_WORK_QUEUE_URL": env.get("MAJLIS_WORK_QUEUE_URL") or "amqp://{}:{}@{}:{}/".format(
                urllib.parse.quote(rabbit["USER"]), urllib.parse.quote(rabbit["PASSWORD"]), rabbit["HOST"], rabbit["PORT"]),
            "MAJLIS_WORK_QUEUE": env.get("MAJLIS_WORK_QUEUE", "majlis.inbox"),
        }
        return cls(url, shared)

    def create_database(self) -> None:
        """Create the PostgreSQL database if it does not exist (the tables are migrated by the processes)."""
        import psycopg2

        env = self.env
        admin = psycopg2.connect(host=env["MAJLIS_PG_HOST"], port=env["MAJLIS_PG_PORT"], user=env["MAJLIS_PG_USER"],
                                 password=env["MAJLIS_PG_PASSWORD"] or None, dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (env["MAJLIS_PG_DB"],))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{env["MAJLIS_PG_DB"]}"')
        admin.close()


def webchat_paths(credentials: Path) -> List[str]:
    """The web chat's page prefix and socket.io path when the channel is configured (else none)."""
    import yaml

    channels = yaml.safe_load(credentials.read_text(encoding="utf-8")) or {}
    if WEBCHAT_CHANNEL not in channels:
        return []
    socket_path = (channels[WEBCHAT_CHANNEL] or {}).get("socketio_path") or WEBCHAT_SOCKET_PATH
    return [WEBCHAT_PAGE, "/" + socket_path.strip("/")]


def haproxy_config(lb_port: int, lb_host: str, rasa: List[Child], receivers: List[Child], stats_port: int,
                   sticky_paths: List[str] = ()) -> str:
    """HAProxy: webhooks → receivers, the rest → Rasa servers; only ready servers get traffic.

    ``sticky_paths`` (the web chat's page and socket.io) go to the Rasa servers with sticky
    sessions: a socket.io connection is several HTTP requests (long polling, then the
    websocket upgrade) that must reach the server holding its session, and the replies
    leave from that server.  A cookie pins a browser (set on the page, sent with every
    request after it); a client without cookies is pinned by its address (consistent
    hash: when a server goes down, only its own customers move).
    """

    def servers(children: List[Child], sticky: bool = False) -> str:
        return "\n".join(f"    server {c.name} 127.0.0.1:{c.port} check" + (f" cookie {c.name}" if sticky else "")
                         for c in children)

    rasa_check = f"    option httpchk GET {rasa[0].ready_path if rasa else RASA_READY}"
    webchat_route = webchat_backend = ""
    if sticky_paths:
        webchat_route = (f"    acl webchat path_beg {' '.join(sticky_paths)}\n"
                         "    use_backend rasa_sticky if webchat\n")
        webchat_backend = f"""
backend rasa_sticky
    balance source
    hash-type consistent
    cookie {STICKY_COOKIE} insert indirect nocache httponly
{rasa_check}
{servers(rasa, sticky=True)}
"""

    return f"""# Written by scripts/cluster.py; docs/deploy.md explains it.
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # the desk's live updates are server-sent events: a long-lived response
    timeout tunnel 1h
    # a refused connection (a server that just died) is tried on another one
    option redispatch
    retries 3
    default-server inter 1s fall 2 rise 1

frontend majlis
    bind {lb_host}:{lb_port}
    monitor-uri {LB_HEALTH}
    acl whatsapp_webhook path_beg {WEBHOOK_PATH}
    use_backend receivers if whatsapp_webhook
{webchat_route}    default_backend rasa

backend receivers
    balance roundrobin
    option httpchk GET {receivers[0].ready_path if receivers else RECEIVER_READY}
{servers(receivers)}

backend rasa
    balance roundrobin
{rasa_check}
{servers(rasa)}
{webchat_backend}
listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /
"""


class Cluster:
    """The processes of one cluster on this machine, supervised."""

    def __init__(self, instances: int, receivers: int, env: Dict[str, str], lb_port: int, lb_host: str) -> None:
        self.env = env
        self.data_dir = Path(env["MAJLIS_DATA_DIR"])
        self.dir = self.data_dir / "cluster"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lb_port = lb_port
        self.stats_port = free_port()
        self.children: List[Child] = []
        self.stopping = False
        credentials = self.dir / "credentials.effective.yml"
        for channel in effective_credentials(ROOT / "credentials.yml", credentials, env):
            print(f"[majlis] channel not configured, left out: {channel}", file=sys.stderr)
        with_whatsapp = WHATSAPP_CHANNEL in credentials.read_text(encoding="utf-8")
        model = str(model_path())
        self.rasa: List[Child] = []
        for i in range(instances):
            actions_port, port = free_port(), free_port()
            own = {**env, "MAJLIS_INSTANCE": str(i), "MAJLIS_ACTION_ENDPOINT": f"http://127.0.0.1:{actions_port}/webhook"}
            self.children.append(Child(f"actions-{i}", [sys.executable, "-m", "bot.action_server", "--actions", "actions",
                                                       "--port", str(actions_port)], own, actions_port, "/health",
                                       self.dir / f"actions-{i}.log"))
            rasa = Child(f"rasa-{i}", [sys.executable, "-m", "bot.rasa_cli", "run", "--model", model,
                                       "--endpoints", "endpoints.production.yml", "--credentials", str(credentials),
                                       "--port", str(port), "--interface", "127.0.0.1", *cors_args(env)],
                         own, port, RASA_READY if with_whatsapp else "/", self.dir / f"rasa-{i}.log")
            self.rasa.append(rasa)
            self.children.append(rasa)
        self.receivers: List[Child] = []
        if with_whatsapp:
            for i in range(receivers):
                port = free_port()
                journal = self.dir / f"receiver-{i}.journal.sqlite"  # each receiver's own, kept across restarts
                receiver = Child(f"receiver-{i}", [sys.executable, "-m", "channels.whatsapp_receiver",
                                                   "--host", "127.0.0.1", "--port", str(port)],
                                 {**env, "MAJLIS_INSTANCE": str(i), "MAJLIS_RECEIVER_JOURNAL": str(journal)},
                                 port, RECEIVER_READY, self.dir / f"receiver-{i}.log")
                self.receivers.append(receiver)
                self.children.append(receiver)
        config = self.dir / "haproxy.cfg"
        config.write_text(haproxy_config(lb_port, lb_host, self.rasa, self.receivers, self.stats_port,
                                         webchat_paths(credentials)), encoding="utf-8")
        self.children.append(Child("haproxy", ["haproxy", "-db", "-f", str(config)], env, lb_port, LB_HEALTH,
                                   self.dir / "haproxy.log"))

    def write_state(self) -> None:
        state = {"lb_port": self.lb_port, "stats_port": self.stats_port, "supervisor_pid": os.getpid(),
                 "processes": [c.as_state() for c in self.children]}
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
        tmp.replace(self.dir / "state.json")

    def start(self) -> None:
        for child in self.children:
            child.start()
        self.write_state()

    def supervise_once(self) -> None:
        """Start again every child that died (not while stopping)."""
        changed = False
        for child in self.children:
            if self.stopping or child.process is None or child.process.poll() is None:
                continue
            if time.monotonic() - child.started_at < RESTART_PAUSE_S:
                continue
            print(f"[majlis] {child.name} exited ({child.process.returncode}); starting it again", file=sys.stderr)
            child.restarts += 1
            child.start()
            changed = True
        if changed:
            self.write_state()

    def all_ready(self) -> bool:
        for child in self.children:
            try:
                with urllib.request.urlopen(child.ready_url, timeout=2) as answer:
                    if answer.status != 200:
                        return False
            except OSError:
                return False
        return True

    def stop(self) -> None:
        self.stopping = True
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.process.kill()


def cluster_env(data_dir: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env["MAJLIS_DATA_DIR"] = str(data_dir)
    backends = Backends.from_env(env)
    backends.create_database()
    env.update(backends.env)
    if not env.get("MAJLIS_ACTION_SECRET"):
        env["MAJLIS_ACTION_SECRET"] = secrets.token_hex(32)  # Rasa servers → action servers, this run only
    provide_rest_token(env, data_dir)
    return env


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Start N Majlis instances behind HAProxy (docs/deploy.md).")
    parser.add_argument("--instances", type=int, required=True, help="Rasa servers (each with its action server)")
    parser.add_argument("--receivers", type=int, default=None, help="WhatsApp receivers (default: --instances)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MAJLIS_PORT", "5005")),
                        help="the load balancer's port (0: any free one)")
    parser.add_argument("--host", default=os.environ.get("MAJLIS_HOST", "0.0.0.0"))
    args = parser.parse_args(argv)
    if args.instances < 1:
        parser.error("--instances must be at least 1")
    data_dir = Path(os.environ.get("MAJLIS_DATA_DIR", ROOT / "var"))
    env = cluster_env(data_dir)
    cluster = Cluster(args.instances, args.receivers if args.receivers is not None else args.instances, env,
                      args.port or free_port(), args.host)

    def stop(*_: object) -> None:
        cluster.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    cluster.start()
    print(f"[majlis] starting {args.instances} Rasa server(s) (about 45 s each to load the model), "
          f"{len(cluster.receivers)} receiver(s), HAProxy on port {cluster.lb_port}; state in {cluster.dir}/state.json",
          file=sys.stderr)
    announced = False
    try:
        while not cluster.stopping:
            cluster.supervise_once()
            if not announced and cluster.all_ready():
                announced = True
                print(f"\n[majlis] the cluster is up: http://localhost:{cluster.lb_port}\n"
                      f"  WhatsApp Cloud webhook:  http://localhost:{cluster.lb_port}{WEBHOOK_PATH}\n"
                      f"  Agent desk:              http://localhost:{cluster.lb_port}/webhooks/agent_desk/desk\n"
                      f"  HAProxy statistics:      http://127.0.0.1:{cluster.stats_port}/\n"
                      f"  stop with Ctrl-C\n", file=sys.stderr)
            time.sleep(0.5)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
