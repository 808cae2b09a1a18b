"""What the phone/inbox takeover check costs each customer message (channels/_takeover.py).

Every WhatsApp and Instagram customer message asks ``EchoTakeover.bot_silenced`` (one
SELECT on ``majlis_takeover``) before the bot runs.  This times that call on a fresh SQLite
file with 100 taken-over conversations, over 2,000 calls (half of them taken over)::

    python bench/takeover_check.py [--calls 2000] [--database sqlite:////tmp/takeover.sqlite]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bot.storage import create_engine, migrate  # noqa: E402
from bot.storage.takeover import TakeoverStore  # noqa: E402
from channels._takeover import EchoTakeover  # noqa: E402


async def measure(url: str, calls: int) -> float:
    engine = create_engine(url)
    migrate(engine)
    takeover = EchoTakeover(channel="whatsapp_cloud", store=TakeoverStore(engine), reason="whatsapp_phone_echo",
                            clock=lambda: datetime.now(timezone.utc))
    for n in range(100):
        await takeover.person_answered("1065", f"9715000{n:05d}")
    await takeover.bot_silenced("1065", "warm-up")
    start = time.perf_counter()
    for n in range(calls):
        await takeover.bot_silenced("1065", f"9715000{n % 200:05d}")
    engine.dispose()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--database", default=None, help="a SQLAlchemy URL (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{folder}/takeover.sqlite"
        seconds = asyncio.run(measure(url, args.calls))
    print(f"bot_silenced: {seconds * 1e6:.0f} µs per customer message ({args.calls} calls, load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
