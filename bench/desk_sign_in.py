"""Agent desk under a sign-in burst: does a signed-in agent wait for other people's password checks?

Serves the desk (SQLite, Rasa's ``configure_app``, no model) on 127.0.0.1, signs one
agent in, then measures the agent's ``GET /api/v1/handoffs`` latency idle and while
``--burst`` wrong sign-ins run in parallel (the throttle's counting is switched off
here so every attempt costs a real scrypt check).  Also times wrong passwords for a
known and an unknown email (the dummy hash makes them cost the same).

``--shared-thread`` hashes on the store's one database thread, as before the fix
(issue 11), to compare.

Usage::

    python bench/desk_sign_in.py [--burst 40] [--rounds 5] [--shared-thread]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DESK = "/webhooks/agent_desk"
PASSWORD = "agent-pass-12345"


async def form_token(client, base: str) -> str:
    async with client.get(f"{base}{DESK}/login") as answer:
        return (await answer.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


async def sign_in(client, base: str, email: str, password: str) -> int:
    token = await form_token(client, base)
    async with client.post(f"{base}{DESK}/login", data={"csrf_token": token, "email": email, "password": password},
                           allow_redirects=False) as answer:
        return answer.status


async def timed_get(client, url: str) -> float:
    start = time.perf_counter()
    async with client.get(url) as answer:
        await answer.read()
        assert answer.status == 200, answer.status
    return 1000 * (time.perf_counter() - start)


async def run(burst: int, rounds: int, shared_thread: bool) -> None:
    import aiohttp
    import yaml
    from rasa.core.run import configure_app
    from sanic import Sanic

    from bot.agent_desk.accounts import AccountStore
    from bot.config import Config
    from bot.handoff.config import ROOT, parse_settings
    from bot.storage import create_engine, migrate
    from bot.agent_desk.channel import AgentDeskInput

    folder = Path(tempfile.mkdtemp(prefix="majlis-bench-desk-"))
    engine = create_engine(f"sqlite:///{folder / 'desk.sqlite'}")
    migrate(engine)
    accounts = AccountStore(engine)
    accounts.create_agent(email="agent@example.com", password=PASSWORD, role="agent", languages=["ar"])
    accounts.shutdown()
    settings = parse_settings(yaml.safe_load((ROOT / "handoff.yml").read_text(encoding="utf-8")),
                              Config({"MAJLIS_BUSINESS_HOURS": "always"}))
    channel = AgentDeskInput(settings, engine=engine, cookie_secure=False)
    Sanic.test_mode = True
    app = configure_app([channel], enable_api=False, port=0)
    server = await app.create_server(host="127.0.0.1", port=0, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    port = server.server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    channel.desk.throttle.failed = lambda _limits: None  # every attempt gets a real password check
    if shared_thread:
        channel.desk.accounts._hashing = channel.desk.accounts._executor
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as agent, \
                aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as attacker:
            assert await sign_in(agent, base, "agent@example.com", PASSWORD) == 303
            queue = f"{base}{DESK}/api/v1/handoffs"
            idle = [await timed_get(agent, queue) for _ in range(20)]
            busy: List[float] = []
            burst_ms: List[float] = []
            for _ in range(rounds):
                start = time.perf_counter()
                attempts = [asyncio.ensure_future(sign_in(attacker, base, f"x{i}@example.com", "wrong-guess-0000"))
                            for i in range(burst)]
                while not all(a.done() for a in attempts):
                    busy.append(await timed_get(agent, queue))
                await asyncio.gather(*attempts)
                burst_ms.append(1000 * (time.perf_counter() - start))
            known, unknown = [], []
            for i in range(10):
                for email, into in (("agent@example.com", known), (f"nobody{i}@example.com", unknown)):
                    start = time.perf_counter()
                    assert await sign_in(attacker, base, email, "wrong-guess-0000") == 401
                    into.append(1000 * (time.perf_counter() - start))
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
        engine.dispose()

    def line(name: str, values: List[float]) -> str:
        ordered = sorted(values)
        return (f"{name:<44} n={len(values):<4} median {statistics.median(values):7.1f} ms   "
                f"p95 {ordered[int(0.95 * (len(ordered) - 1))]:7.1f} ms   max {ordered[-1]:7.1f} ms")

    print(line("agent GET /handoffs, idle", idle))
    print(line(f"agent GET /handoffs, during {burst} sign-ins", busy))
    print(line(f"{burst} parallel wrong sign-ins (whole burst)", burst_ms))
    print(line("wrong password, known email (incl. form GET)", known))
    print(line("wrong password, unknown email (incl. form GET)", unknown))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--shared-thread", action="store_true", help="hash on the database thread (the old way)")
    args = parser.parse_args()
    asyncio.run(run(args.burst, args.rounds, args.shared_thread))


if __name__ == "__main__":
    main()
