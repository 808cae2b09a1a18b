"""``python -m bot.agent_desk.users``: accounts and integration tokens from the command line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAJLIS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "MAJLIS_NEW_PASSWORD": "a-long-password-1", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
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
