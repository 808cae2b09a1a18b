"""Talk to a running Majlis in the terminal, through its REST channel."""
from __future__ import annotations

import argparse
import json
import sys
import urllib.request
import uuid


def send(url: str, sender: str, text: str) -> list:
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read().decode("utf-8"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://localhost:5005/webhooks/rest/webhook")
    parser.add_argument("--sender", default=f"terminal-{uuid.uuid4().hex[:8]}")
    args = parser.parse_args()
    print("Write in Arabic, English or Arabizi; Ctrl-D to leave.")
    for line in sys.stdin:
        text = line.strip()
        if not text:
            continue
        try:
            replies = send(args.url, args.sender, text)
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
