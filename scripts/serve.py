"""Start the action server and the Rasa server together, and stop them together."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from ensure_model import model_path  # noqa: E402

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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


def main() -> int:
    env = dict(os.environ)
    rasa = str(Path(sys.executable).with_name("rasa"))
    data_dir = Path(env["MAJLIS_DATA_DIR"])
    port = env.get("MAJLIS_PORT", "5005")
    actions_port = env.get("MAJLIS_ACTIONS_PORT", "5055")
    credentials = data_dir / "credentials.effective.yml"
    skipped = effective_credentials(ROOT / "credentials.yml", credentials, env)
    for channel in skipped:
        print(f"[majlis] channel not configured, left out: {channel}", file=sys.stderr)

    actions = subprocess.Popen([rasa, "run", "actions", "--actions", "actions", "--port", actions_port], cwd=ROOT, env=env)
    server_cmd = [rasa, "run", "--model", str(model_path()), "--endpoints", env.get("MAJLIS_ENDPOINTS", "endpoints.yml"),
                  "--credentials", str(credentials), "--port", port, "--cors", env.get("MAJLIS_CORS", "*")]
    if env.get("MAJLIS_ENABLE_API"):
        server_cmd += ["--enable-api", "--auth-token", env["MAJLIS_API_TOKEN"]]
    server = subprocess.Popen(server_cmd, cwd=ROOT, env=env)
    children = [actions, server]

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"[majlis] loading the model (about 45 s) ...", file=sys.stderr)
    if wait_until_up(f"http://127.0.0.1:{port}/", server, timeout=300):
        print(
            f"\n[majlis] Majlis is up.\n"
            f"  chat in this terminal:   ./majlis chat\n"
            f"  REST:                    POST http://localhost:{port}/webhooks/rest/webhook  {{\"sender\": \"me\", \"message\": \"مرحبا\"}}\n"
            f"  WhatsApp Cloud webhook:  http://localhost:{port}/webhooks/whatsapp_cloud/webhook\n"
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
