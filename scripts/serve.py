"""Start the action server, the Rasa server and the WhatsApp receiver together; stop them together.

When the WhatsApp Cloud channel is configured, its webhook is served by a separate
receiver process (``channels/whatsapp_receiver.py``, port ``MAJLIS_RECEIVER_PORT``,
default 5006) that acknowledges Meta without waiting for the model, and tells the
Rasa server about new messages over 127.0.0.1 with a shared secret
(``MAJLIS_INBOX_SECRET``, generated for this run unless set).
``MAJLIS_WHATSAPP_RECEIVER=0`` serves the webhook from ``rasa run`` instead.

Exposure (docs/security.md): the action server (``bot.action_server``) listens on
127.0.0.1 and runs actions only for Rasa, which sends the shared secret
``MAJLIS_ACTION_SECRET`` (generated for this run unless set); the REST channel needs
the bearer token ``MAJLIS_REST_TOKEN``, generated once into ``$MAJLIS_DATA_DIR/rest-token``
(mode 0600, where ``./majlis chat`` finds it) unless set, or left out with
``MAJLIS_REST=off``; CORS is off unless ``MAJLIS_CORS`` names the allowed origins.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from ensure_model import model_path  # noqa: E402

sys.path.insert(0, str(ROOT))
from bot.local_secrets import REST_TOKEN_ENV, REST_TOKEN_FILE, stored_secret  # noqa: E402
from bot.priority import lower_priority, model_nice  # noqa: E402

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
WHATSAPP_CHANNEL = "channels.whatsapp_cloud.channel.WhatsAppCloudInput"
WHATSAPP_PATH = "/webhooks/whatsapp_cloud"


def effective_credentials(source: Path, target: Path, environ: Dict[str, str]) -> List[str]:
    """Copy the channels of ``source`` whose ${VARS} are all set; return the names left out."""
    channels = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    kept, skipped = {}, []
    for name, settings in channels.items():
        missing = sorted({m for m in _ENV_REF.findall(yaml.safe_dump(settings or {})) if not environ.get(m)})
        if missing:
            skipped.append(f"{name} (set {', '.join(missing)})")
        else:
            kept[name] = settings
    target.write_text(yaml.safe_dump(kept, allow_unicode=True), encoding="utf-8")
    return skipped


def wait_until_up(url: str, process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(1)
    return False


def receiver_wanted(credentials: Path, environ: Dict[str, str]) -> bool:
    """Whether to run the WhatsApp receiver: the channel is configured and not opted out."""
    kept = yaml.safe_load(credentials.read_text(encoding="utf-8")) or {}
    opted_out = environ.get("MAJLIS_WHATSAPP_RECEIVER", "1").strip().lower() in {"0", "false", "no", "off"}
    return WHATSAPP_CHANNEL in kept and not opted_out


def cors_args(environ: Dict[str, str]) -> List[str]:
    """``--cors <origin> ...`` only when ``MAJLIS_CORS`` is set (space- or comma-separated)."""
    origins = [o for o in re.split(r"[\s,]+", environ.get("MAJLIS_CORS", "")) if o]
    return ["--cors", *origins] if origins else []


def provide_rest_token(env: Dict[str, str], data_dir: Path) -> Optional[Path]:
    """Put the REST channel's token in ``env`` (stored one, else a new one); the file it is in.

    Nothing is done with ``MAJLIS_REST=off``: the channel is then left out.
    """
    if env.get("MAJLIS_REST", "on").strip().lower() in {"0", "false", "no", "off"}:
        env.pop(REST_TOKEN_ENV, None)
        return None
    token, path = stored_secret(env, REST_TOKEN_ENV, data_dir, REST_TOKEN_FILE, create=True)
    env[REST_TOKEN_ENV] = token or ""
    return path


def main() -> int:
    env = dict(os.environ)
    data_dir = Path(env["MAJLIS_DATA_DIR"])
    port = env.get("MAJLIS_PORT", "5005")
    actions_port = env.get("MAJLIS_ACTIONS_PORT", "5055")
    credentials = data_dir / "credentials.effective.yml"
    rest_token_file = provide_rest_token(env, data_dir)
    if rest_token_file is not None:
        print(f"[majlis] REST channel token: {rest_token_file} (readable only by you; MAJLIS_REST_TOKEN overrides)",
              file=sys.stderr)
    if not env.get("MAJLIS_ACTION_SECRET"):
        env["MAJLIS_ACTION_SECRET"] = secrets.token_hex(32)  # Rasa sends it to the action server; this run only
    skipped = effective_credentials(ROOT / "credentials.yml", credentials, env)
    for channel in skipped:
        print(f"[majlis] channel not configured, left out: {channel}", file=sys.stderr)

    receiver_port = env.get("MAJLIS_RECEIVER_PORT", "5006")
    with_receiver = receiver_wanted(credentials, env)
    if with_receiver and not env.get("MAJLIS_INBOX_SECRET"):
        env["MAJLIS_INBOX_SECRET"] = secrets.token_hex(32)  # shared by the two children of this run only

    # With the receiver, the model processes run a few nice levels lower (bot/priority.py).
    model_priority = lower_priority(model_nice(env) if with_receiver else 0)
    # rasa_sdk's app on 127.0.0.1, answering only calls that carry MAJLIS_ACTION_SECRET.
    actions = subprocess.Popen([sys.executable, "-m", "bot.action_server", "--actions", "actions",
                                "--port", actions_port], cwd=ROOT, env=env, preexec_fn=model_priority)
    # bot.rasa_cli is `rasa` with Majlis' fix to Rasa 3.6 (bot/rasa_fixes.py); the arguments are Rasa's.
    server_cmd = [sys.executable, "-m", "bot.rasa_cli", "run", "--model", str(model_path()), "--endpoints", env.get("MAJLIS_ENDPOINTS", "endpoints.yml"),
                  "--credentials", str(credentials), "--port", port, *cors_args(env)]
    if env.get("MAJLIS_HOST"):  # e.g. 127.0.0.1 behind a reverse proxy on this machine (docs/security.md)
        server_cmd += ["--interface", env["MAJLIS_HOST"]]
    if env.get("MAJLIS_ENABLE_API"):
        server_cmd += ["--enable-api", "--auth-token", env["MAJLIS_API_TOKEN"]]
    server = subprocess.Popen(server_cmd, cwd=ROOT, env=env, preexec_fn=model_priority)
    children = [actions, server]
    if with_receiver:
        # Up in a second: it records webhooks while the model loads; Rasa processes them once up.
        children.append(subprocess.Popen(
            [sys.executable, "-m", "channels.whatsapp_receiver", "--port", receiver_port,
             "--rasa-url", f"http://127.0.0.1:{port}"], cwd=ROOT, env=env))
    whatsapp_url = (f"http://localhost:{receiver_port}{WHATSAPP_PATH}/webhook  (receiver: give Meta this one)"
                    if with_receiver else f"http://localhost:{port}{WHATSAPP_PATH}/webhook")

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"[majlis] loading the model (about 45 s) ...", file=sys.stderr)
    rest_hint = "" if not env.get(REST_TOKEN_ENV) else (
        f"  REST:                    POST http://localhost:{port}/webhooks/rest/webhook  {{\"sender\": \"me\", \"message\": \"مرحبا\"}}\n"
        f"                           with  Authorization: Bearer "
        f"{f'$(cat {rest_token_file})' if rest_token_file else '$MAJLIS_REST_TOKEN'}\n")
    if wait_until_up(f"http://127.0.0.1:{port}/", server, timeout=300):
        print(
            f"\n[majlis] Majlis is up.\n"
            f"  chat in this terminal:   ./majlis chat\n"
            f"{rest_hint}"
            f"  WhatsApp Cloud webhook:  {whatsapp_url}\n"
            f"  Twilio WhatsApp webhook: http://localhost:{port}/webhooks/twilio_whatsapp/webhook\n"
            f"  Web chat:                http://localhost:{port}/webhooks/webchat/\n"
            f"  Agent desk:              http://localhost:{port}/webhooks/agent_desk/desk  (accounts: ./majlis users create ...)\n"
            f"  stop with Ctrl-C\n",
            file=sys.stderr,
        )
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
    return max((child.returncode or 0) for child in children)


if __name__ == "__main__":
    sys.exit(main())
