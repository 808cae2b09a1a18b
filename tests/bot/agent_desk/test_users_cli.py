"""``python -m bot.agent_desk.users``: accounts and integration tokens from the command line."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from bot.agent_desk import users
from bot.agent_desk.accounts import AccountStore
from bot.storage import create_engine

ROOT = Path(__file__).resolve().parents[3]


def run(tmp_path: Path, *args: str, password: str = "a-long-password-1") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAJLIS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "MAJLIS_NEW_PASSWORD": password, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "bot.agent_desk.users", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_create_list_and_token(tmp_path: Path) -> None:
    created = run(tmp_path, "create", "--email", "Sara@Example.com", "--role", "agent", "--languages", "ar,en",
                  "--queues", "general,orders")
    assert created.returncode == 0, created.stderr
    assert "created agent #1 sara@example.com" in created.stdout
    duplicate = run(tmp_path, "create", "--email", "sara@example.com", "--role", "agent", "--languages", "ar")
    assert duplicate.returncode == 2 and "exists already" in duplicate.stderr
    bad_role = run(tmp_path, "create", "--email", "x@example.com", "--role", "boss", "--languages", "ar")
    assert bad_role.returncode != 0
    token = run(tmp_path, "token", "--name", "crm", "--scopes", "handoffs:read,handoffs:reply")
    assert token.returncode == 0 and token.stdout.startswith("mjl_")
    assert run(tmp_path, "revoke", "--name", "crm").stdout == "revoked 1 token(s)\n"
    listed = run(tmp_path, "list")
    assert "sara@example.com\tar,en\tgeneral,orders" in listed.stdout


def in_process(tmp_path: Path, monkeypatch: Any, capsys: Any) -> Callable[..., subprocess.CompletedProcess]:
    """The same commands through ``main()`` in this process (no interpreter start per command)."""
    monkeypatch.setenv("MAJLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")

    def call(_tmp_path: Path, *args: str, password: str = "a-long-password-1") -> subprocess.CompletedProcess:
        monkeypatch.setenv("MAJLIS_NEW_PASSWORD", password)
        code = users.main(list(args))
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, captured.out, captured.err)
    return call


def _signed_in(tmp_path: Path, email: str) -> str:
    """A live desk session for ``email`` (as the sign-in form would create); returns its cookie token."""
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    store = AccountStore(engine)
    try:
        account = next(a for a in store.list_agents() if a.email == email)
        token, _session = asyncio.run(store.start_session(account))
        return token
    finally:
        store.shutdown()
        engine.dispose()


def _session_alive(tmp_path: Path, token: str) -> bool:
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    store = AccountStore(engine)
    try:
        return asyncio.run(store.session(token)) is not None
    finally:
        store.shutdown()
        engine.dispose()


def test_disable_password_and_sessions_end_access_at_once(tmp_path: Path, monkeypatch, capsys) -> None:
    run = in_process(tmp_path, monkeypatch, capsys)
    assert run(tmp_path, "create", "--email", "sara@example.com", "--role", "agent", "--languages", "ar").returncode == 0
    token = _signed_in(tmp_path, "sara@example.com")
    assert run(tmp_path, "sessions", "sara@example.com").stdout == "1 live session(s)\n"
    disabled = run(tmp_path, "disable", "sara@example.com")
    assert disabled.returncode == 0 and disabled.stdout == "disabled agent #1 sara@example.com\n"
    assert not _session_alive(tmp_path, token)
    assert "sara@example.com\tar\t*\tdisabled" in run(tmp_path, "list").stdout
    assert run(tmp_path, "enable", "sara@example.com").returncode == 0
    token = _signed_in(tmp_path, "sara@example.com")
    changed = run(tmp_path, "password", "sara@example.com", password="a-new-password-22")
    assert changed.returncode == 0 and changed.stdout == "password changed; ended 1 session(s)\n"
    assert not _session_alive(tmp_path, token)
    token = _signed_in(tmp_path, "sara@example.com")
    assert run(tmp_path, "sessions", "--end", "sara@example.com").stdout == "ended 1 session(s)\n"
    assert not _session_alive(tmp_path, token)
    unknown = run(tmp_path, "disable", "nobody@example.com")
    assert unknown.returncode == 2 and "no account 'nobody@example.com'" in unknown.stderr
    short = run(tmp_path, "password", "sara@example.com", password="short")
    assert short.returncode == 2 and "passwords need" in short.stderr


def test_a_revoked_integration_can_be_issued_again(tmp_path: Path, monkeypatch, capsys) -> None:
    run = in_process(tmp_path, monkeypatch, capsys)
    first = run(tmp_path, "token", "--name", "crm", "--scopes", "handoffs:read")
    assert first.returncode == 0, first.stderr
    twice = run(tmp_path, "token", "--name", "crm", "--scopes", "handoffs:read")
    assert twice.returncode == 2 and "revoke it first" in twice.stderr and "Traceback" not in twice.stderr
    assert run(tmp_path, "revoke", "--name", "crm").stdout == "revoked 1 token(s)\n"
    again = run(tmp_path, "token", "--name", "crm", "--scopes", "handoffs:read,handoffs:reply")
    assert again.returncode == 0 and again.stdout.startswith("mjl_"), again.stderr
    assert again.stdout != first.stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.sqlite'}")
    store = AccountStore(engine)
    try:
        assert asyncio.run(store.integration(first.stdout.strip())) is None
        reissued = asyncio.run(store.integration(again.stdout.strip()))
        assert reissued is not None and reissued.scopes == {"handoffs:read", "handoffs:reply"}
    finally:
        store.shutdown()
        engine.dispose()


def test_capacity_of_an_agent(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    call = in_process(tmp_path, monkeypatch, capsys)
    created = call(tmp_path, "create", "--email", "sara@example.com", "--role", "agent", "--languages", "ar")
    assert created.returncode == 0
    assert "\tcapacity default" in call(tmp_path, "list").stdout
    assert call(tmp_path, "capacity", "sara@example.com", "4").stdout == "capacity of #1 sara@example.com: 4\n"
    assert "sara@example.com\tar\t*\tactive\tcapacity 4" in call(tmp_path, "list").stdout
    wrong = call(tmp_path, "capacity", "sara@example.com", "-2")
    assert wrong.returncode == 2 and "whole number" in wrong.stderr
    assert call(tmp_path, "capacity", "nobody@example.com", "3").returncode == 2
    assert call(tmp_path, "capacity", "sara@example.com", "default").returncode == 0
    assert "\tcapacity default" in call(tmp_path, "list").stdout
