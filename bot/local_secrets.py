"""Secrets a single-machine install keeps for itself, in files only their owner can read.

``./majlis start`` must work for a new user without configuration, yet nothing it
serves may be open: when the operator has not set a secret in the environment,
one is generated once and stored under ``$MAJLIS_DATA_DIR`` with mode 0600, so
the next start, and ``./majlis chat`` in another terminal, use the same one.
An environment variable always wins (and nothing is written then).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Mapping, Optional, Tuple

#: The REST channel's bearer token (channels/rest/channel.py): env var and file name.
REST_TOKEN_ENV = "MAJLIS_REST_TOKEN"
REST_TOKEN_FILE = "rest-token"


def stored_secret(environ: Mapping[str, str], env_name: str, data_dir: Path, file_name: str,
                  *, create: bool) -> Tuple[Optional[str], Optional[Path]]:
    """``(secret, file it came from)``: the environment's, else the stored one, else a new one.

    Args:
        environ: where ``env_name`` is looked up first.
        data_dir: the directory holding ``file_name``.
        create: generate and store a secret when there is none; else ``(None, None)``.

    Returns:
        The file is None when the secret came from the environment.
    """
    from_env = (environ.get(env_name) or "").strip()
    if from_env:
        return from_env, None
    path = data_dir / file_name
    try:
        stored = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        stored = ""
    if stored or not create:
        return (stored or None), (path if stored else None)
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    # Created 0600 from the start (not chmod after writing): never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value, path
