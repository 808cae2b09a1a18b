"""Session-wide fixtures: the trained model, the action server and a loaded agent.

Loading a Rasa model takes most of a minute, so it happens once per session and
every end-to-end test shares the agent (each test uses its own sender ids).
"""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Third-party webhook payloads and signature vectors, copied unchanged (tests/fixtures/SOURCES.md).
FIXTURES_ROOT = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float, process: "subprocess.Popen | None" = None) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError as exc:
            last_error = exc
            time.sleep(0.5)
    raise TimeoutError(f"{url} not up after {timeout}s: {last_error}")


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model for the current config, domain and data (trained if stale)."""
    from ensure_model import model_path

    path = model_path()
    if not path.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_model.py")], check=True, cwd=ROOT)
    return path


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("majlis-data")
    os.environ["MAJLIS_DATA_DIR"] = str(path)
    return path


def action_endpoint(url: str) -> Dict[str, Any]:
    """An ``action_endpoint`` config for the session's action server: its URL and shared secret."""
    from bot.action_server import SECRET_ENV, SECRET_HEADER

    return {"url": url, "headers": {SECRET_HEADER: os.environ[SECRET_ENV]}}


@pytest.fixture(scope="session")
def action_server_url(session_data_dir: Path) -> Iterator[str]:
    """This repo's actions on a real action server, as ./majlis start runs it (bot/action_server.py):
    127.0.0.1, and a shared secret Rasa sends (set in the environment for endpoints.yml)."""
    from bot.action_server import SECRET_ENV

    os.environ.setdefault(SECRET_ENV, secrets.token_hex(32))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAJLIS_DATA_DIR": str(session_data_dir)}
    log = open(session_data_dir / "action-server.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "bot.action_server", "--actions", "actions", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", timeout=120, process=process)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def majlis_agent(trained_model: Path, action_server_url: str, session_data_dir: Path):
    """A Rasa Agent as shipped (endpoints.yml: BilingualNLG, the windowed SQLite tracker
    store, the action server); loaded once."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import TrackerStore
    from rasa.core.utils import AvailableEndpoints

    from bot.rasa_fixes import apply

    apply()  # as bot.rasa_cli (./majlis start) does

    os.environ["MAJLIS_ACTION_ENDPOINT"] = action_server_url
    os.environ["MAJLIS_TRACKER_DB"] = str(session_data_dir / "tracker.db")
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    return Agent.load(
        trained_model,
        generator=endpoints.nlg,
        action_endpoint=endpoints.action,
        tracker_store=TrackerStore.create(endpoints.tracker_store),
    )
