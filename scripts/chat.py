"""Talk to a running Majlis in the terminal, through its REST channel.

The channel needs its bearer token: ``MAJLIS_REST_TOKEN``, else the one ``./majlis start``
stored in ``$MAJLIS_DATA_DIR/rest-token`` (``./majlis chat`` sets ``MAJLIS_DATA_DIR``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bot.local_secrets import REST_TOKEN_ENV, REST_TOKEN_FILE, stored_secret  # noqa: E402


def find_token(environ=os.environ) -> Optional[str]:
    data_dir = Path(environ.get("MAJLIS_DATA_DIR") or Path(__file__).resolve().parents[1] / "var")
    token, _path = stored_secret(environ, REST_TOKEN_ENV, data_dir, REST_TOKEN_FILE, create=False)
    return token


def send(url: str, sender: str, text: str, token: Optional[str]) -> list:
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read().decode("utf-8"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://localhost:5005/webhooks/rest/webhook")
    parser.add_argument("--sender", default=f"terminal-{uuid.uuid4().hex[:8]}")
    args = parser.parse_args()
    token = find_token()
    if not token:
        print(f"(no REST token: set {REST_TOKEN_ENV}, or start Majlis once with ./majlis start, which stores one)")
    print("Write in Arabic, English or Arabizi; Ctrl-D to leave.")
    for line in sys.stdin:
        text = line.strip()
        if not text:
            continue
        try:
            replies = send(args.url, args.sender, text, token)
        except urllib.error.HTTPError as exc:
            reason = exc.read().decode("utf-8", "replace")[:200]
            print(f"(Majlis refused the message: HTTP {exc.code} {reason})")
            continue
        except OSError as exc:
            print(f"(Majlis is not reachable at {args.url}: {exc}; start it with ./majlis start)")
            continue
        for reply in replies:
            if reply.get("text"):
                print(f"majlis> {reply['text']}")
            for button in reply.get("buttons") or []:
                print(f"        [{button.get('title')}] -> {button.get('payload')}")
            if reply.get("image"):
                print(f"        (image) {reply['image']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
