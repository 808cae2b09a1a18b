"""Start and watch a whole assistant stack: ``rasa run`` plus its action server.

A :class:`Stack` is what a user would run: the Rasa server with one model, one
channel and its endpoints, and a rasa_sdk action server with this repo's actions,
each with its own data directory (SQLite tracker store and Majlis' delivery store).
A WhatsApp stack also runs the webhook receiver process in front of Rasa, as
``./majlis start`` does (scripts/serve.py): webhooks go to :attr:`Stack.webhook_url`
(the receiver), which records them and notifies the Rasa server.
Its CPU time and memory are read from ``/proc`` through psutil, over the whole
process tree, so TensorFlow threads and any child process are included.
"""
from __future__ import annotations

import re
import secrets
import socket
import sys
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

try:
    import psutil
except ImportError:  # pragma: no cover - set-up hint
    raise SystemExit("the benchmarks need psutil: .venv/bin/pip install -r bench/requirements.txt") from None

from common import ROOT, base_env, rasa_bin

sys.path.insert(0, str(ROOT))
from bot.priority import lower_priority, model_nice  # noqa: E402

BENCH = ROOT / "bench"
MAJLIS_ENDPOINTS = ROOT / "endpoints.yml"
DEFAULT_ENDPOINTS = BENCH / "endpoints.rasa-default.yml"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: What the WhatsApp Cloud channel is configured with in the benchmarks (the fake customer signs with it).
WA_APP_SECRET = "bench-app-secret"
WA_PHONE_NUMBER_ID = "1122334455667"
WA_TOKEN = "bench-access-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not up after {timeout:.0f}s")


@dataclass
class StackSpec:
    """What to run.

    Args:
        name: label in tables ("majlis-whatsapp", "majlis-rest", "rasa-default-rest").
        model: the trained model archive.
        channel: ``"rest"`` or ``"whatsapp"`` (Majlis' WhatsApp Cloud channel).
        endpoints: endpoints file (Majlis' endpoints.yml, or the baseline's).
        graph_url: the fake Graph API (WhatsApp only).
        receiver: run the webhook receiver process in front of Rasa (WhatsApp only; the
            default, as ``./majlis start``).  False: webhooks go to ``rasa run``'s own
            route, as before the receiver existed (for comparisons).
    """

    name: str
    model: Path
    channel: str
    endpoints: Path = MAJLIS_ENDPOINTS
    graph_url: Optional[str] = None
    receiver: bool = True


@dataclass
class Stack:
    spec: StackSpec
    workdir: Path
    port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    receiver_port: int = field(default_factory=free_port)
    server: Optional[subprocess.Popen] = None
    actions: Optional[subprocess.Popen] = None
    receiver: Optional[subprocess.Popen] = None
    """The WhatsApp webhook receiver (WhatsApp stacks only)."""
    _logs: List[object] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def with_receiver(self) -> bool:
        return self.spec.channel == "whatsapp" and self.spec.receiver

    @property
    def webhook_url(self) -> str:
        """Where Meta's webhooks go: the receiver's in a WhatsApp stack (as ``./majlis start``)."""
        base = f"http://127.0.0.1:{self.receiver_port}" if self.with_receiver else self.base_url
        return base + "/webhooks/whatsapp_cloud/webhook"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def delivery_db(self) -> Path:
        return self.data_dir / "majlis.sqlite"

    def _env(self) -> Dict[str, str]:
        env = base_env(
            MAJLIS_DATA_DIR=str(self.data_dir),
            MAJLIS_TRACKER_DB=str(self.data_dir / "tracker.sqlite"),
            MAJLIS_ACTION_ENDPOINT=f"http://127.0.0.1:{self.actions_port}/webhook",
            MAJLIS_ACTION_SECRET=secrets.token_hex(16),
        )
        if self.spec.channel == "whatsapp":
            env.update({
                "WHATSAPP_APP_SECRET": WA_APP_SECRET,
                "WHATSAPP_VERIFY_TOKEN": "bench-verify-token",
                "WHATSAPP_PHONE_NUMBER_ID": WA_PHONE_NUMBER_ID,
                "WHATSAPP_ACCESS_TOKEN": WA_TOKEN,
                "WHATSAPP_GRAPH_URL": self.spec.graph_url or "",
                "MAJLIS_INBOX_SECRET": secrets.token_hex(16),
            })
        return env

    def _endpoints(self, env: Dict[str, str]) -> Path:
        """The endpoints file with its ``${VAR}`` references filled in.

        Rasa only expands ``${VAR}`` in *unquoted* YAML scalars; writing the values here makes
        the run independent of how a file quotes them (and of the caller's environment).
        """
        text = self.spec.endpoints.read_text(encoding="utf-8")
        text = _ENV_REF.sub(lambda m: env[m.group(1)], text)
        path = self.workdir / "endpoints.yml"
        path.write_text(text, encoding="utf-8")
        return path

    def _credentials(self) -> Path:
        path = self.workdir / "credentials.yml"
        if self.spec.channel == "whatsapp":
            # Settings come from the WHATSAPP_* environment (channels/whatsapp_cloud/settings.py).
            path.write_text("channels.whatsapp_cloud.channel.WhatsAppCloudInput:\n", encoding="utf-8")
        else:
            path.write_text("rest:\n", encoding="utf-8")
        return path

    def start(self, timeout: float = 420) -> "Stack":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = self._env()
        actions_log = open(self.workdir / "actions.log", "w")
        server_log = open(self.workdir / "server.log", "w")
        self._logs += [actions_log, server_log]
        # As ./majlis start does: with the receiver, the model processes run a few nice levels lower.
        model_priority = lower_priority(model_nice(env) if self.with_receiver else 0)
        self.actions = subprocess.Popen(
            [sys.executable, "-m", "bot.action_server", "--actions", "actions", "--port", str(self.actions_port)],
            cwd=ROOT, env=env, stdout=actions_log, stderr=subprocess.STDOUT, preexec_fn=model_priority)
        # Majlis as shipped runs Rasa through bot.rasa_cli (./majlis start does); the baseline is plain `rasa`.
        rasa = [sys.executable, "-m", "bot.rasa_cli"] if self.spec.endpoints == MAJLIS_ENDPOINTS else [rasa_bin()]
        self.server = subprocess.Popen(
            [*rasa, "run", "--model", str(self.spec.model), "--endpoints", str(self._endpoints(env)),
             "--credentials", str(self._credentials()), "--port", str(self.port), "--interface", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT, preexec_fn=model_priority)
        if self.with_receiver:
            receiver_log = open(self.workdir / "receiver.log", "w")
            self._logs.append(receiver_log)
            self.receiver = subprocess.Popen(
                [sys.executable, "-m", "channels.whatsapp_receiver", "--host", "127.0.0.1",
                 "--port", str(self.receiver_port), "--rasa-url", self.base_url],
                cwd=ROOT, env=env, stdout=receiver_log, stderr=subprocess.STDOUT)
            wait_for_http(f"http://127.0.0.1:{self.receiver_port}/webhooks/whatsapp_cloud/", self.receiver, timeout)
        wait_for_http(f"http://127.0.0.1:{self.actions_port}/health", self.actions, timeout)
        wait_for_http(self.base_url + "/", self.server, timeout)
        return self

    def _children(self) -> List[Optional[subprocess.Popen]]:
        return [self.receiver, self.server, self.actions]

    def stop(self) -> None:
        for process in self._children():
            if process is not None and process.poll() is None:
                process.terminate()
        for process in self._children():
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for log in self._logs:
            log.close()  # type: ignore[attr-defined]
        self._logs.clear()

    # -- measurements ---------------------------------------------------------

    def processes(self) -> List[psutil.Process]:
        found: List[psutil.Process] = []
        for popen in self._children():
            if popen is None or popen.poll() is not None:
                continue
            try:
                root = psutil.Process(popen.pid)
                found += [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU time of the whole stack so far."""
        total = 0.0
        for process in self.processes():
            try:
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss_by_role(self) -> Dict[str, int]:
        """RSS of the Rasa server, the action server and the receiver (each with its children)."""
        roles: Dict[str, int] = {}
        for role, popen in (("server", self.server), ("actions", self.actions), ("receiver", self.receiver)):
            total = 0
            if popen is not None and popen.poll() is None:
                try:
                    root = psutil.Process(popen.pid)
                    total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
                except psutil.NoSuchProcess:
                    pass
            roles[role] = total
        return roles

    def rss_bytes(self) -> int:
        total = 0
        for process in self.processes():
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total


class MemoryWatch:
    """Samples the RSS of some stacks every ``interval`` seconds in a thread; keeps the peaks."""

    def __init__(self, stacks: List[Stack], interval: float = 0.25) -> None:
        self.stacks = stacks
        self.interval = interval
        self.peaks: Dict[str, int] = {s.name: 0 for s in stacks}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for stack in self.stacks:
                self.peaks[stack.name] = max(self.peaks[stack.name], stack.rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> "MemoryWatch":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        for stack in self.stacks:  # one last sample
            self.peaks[stack.name] = max(self.peaks[stack.name], stack.rss_bytes())


def start_all(stacks: List[Stack]) -> None:
    """Start stacks side by side (model loading dominates; it overlaps); stop all if one fails."""
    errors: List[BaseException] = []

    def run(stack: Stack) -> None:
        try:
            stack.start()
        except BaseException as exc:  # reported below, after every thread ended
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(stack,)) for stack in stacks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        for stack in stacks:
            stack.stop()
        raise RuntimeError(f"a stack did not start: {errors[0]}") from errors[0]
