"""Sign-in abuse limits: throttling with backoff, a dummy hash for unknown emails, a separate hashing pool."""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, List, Tuple

import aiohttp

import bot.agent_desk.security as security
from bot.agent_desk.throttle import ACCOUNT_LIMIT, IP_LIMIT
from tests.bot.agent_desk.conftest import PASSWORDS, login

NOURA = "noura@example.com"


class FakeClock:
    """Monotonic seconds the test moves forward (the throttle's clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def form_token(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(f"{url}/login") as answer:
        return (await answer.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


async def try_sign_in(desk: Any, email: str, password: str,
                      session: aiohttp.ClientSession | None = None) -> Tuple[int, Dict[str, str], str]:
    """POST the sign-in form: (status, headers, page text)."""
    client = session or desk.session
    token = await form_token(client, desk.url(""))
    async with client.post(desk.url("/login"), data={"csrf_token": token, "email": email, "password": password},
                           allow_redirects=False) as answer:
        return answer.status, dict(answer.headers), await answer.text()


def hold_hashing(monkeypatch: Any) -> Tuple[threading.Event, threading.Semaphore]:
    """Make every scrypt call wait for the returned event; the semaphore counts calls that started."""
    release, started = threading.Event(), threading.Semaphore(0)
    derive = security._derive

    def held(*args: Any) -> bytes:
        started.release()
        release.wait(60)
        return derive(*args)

    security.dummy_hash()  # made once per process, before the hold
    monkeypatch.setattr(security, "_derive", held)
    return release, started


async def started_in_thread(started: threading.Semaphore) -> bool:
    return await asyncio.get_running_loop().run_in_executor(None, started.acquire, True, 30)


async def test_the_right_password_after_25_wrong_ones_waits_for_the_backoff(desk) -> None:
    clock = desk.app.throttle.clock = FakeClock()
    statuses = [(await try_sign_in(desk, NOURA, f"wrong-guess-{i:04d}"))[0] for i in range(25)]
    assert statuses[:ACCOUNT_LIMIT.free] == [401] * ACCOUNT_LIMIT.free
    assert set(statuses[ACCOUNT_LIMIT.free:]) == {429}
    status, headers, page = await try_sign_in(desk, NOURA, PASSWORDS[NOURA])
    assert status == 429, "the right password must wait for the backoff too"
    first_wait = int(headers["Retry-After"])
    assert first_wait >= 1 and "Too many sign-in attempts" in page and "محاولات دخول كثيرة" in page
    clock.now += first_wait
    status, headers, _ = await try_sign_in(desk, NOURA, "wrong-again-0000")
    assert status == 401
    status, headers, _ = await try_sign_in(desk, NOURA, PASSWORDS[NOURA])
    assert status == 429 and int(headers["Retry-After"]) > first_wait, "the backoff grows with each failure"
    clock.now += int(headers["Retry-After"])
    status, headers, _ = await try_sign_in(desk, NOURA, PASSWORDS[NOURA])
    assert status == 303 and headers["Location"].endswith("/desk")


async def test_one_ip_is_throttled_across_accounts(desk) -> None:
    desk.app.throttle.clock = FakeClock()
    for i in range(IP_LIMIT.free):
        status, _, _ = await try_sign_in(desk, f"nobody{i}@example.com", "wrong-guess-0000")
        assert status == 401
    status, headers, _ = await try_sign_in(desk, "sup@example.com", PASSWORDS["sup@example.com"])
    assert status == 429 and int(headers["Retry-After"]) >= 1


async def test_an_unknown_email_costs_the_same_scrypt_work(desk, monkeypatch) -> None:
    calls: List[int] = []
    derive = security._derive

    def counting(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
        calls.append(n)
        return derive(password, salt, n, r, p, dklen)

    security.dummy_hash()  # made once per process; not a sign-in's work
    monkeypatch.setattr(security, "_derive", counting)
    assert (await try_sign_in(desk, NOURA, "wrong-guess-0000"))[0] == 401
    known = list(calls)
    calls.clear()
    assert (await try_sign_in(desk, "nobody@example.com", "wrong-guess-0000"))[0] == 401
    unknown = list(calls)
    calls.clear()
    assert (await try_sign_in(desk, "integration+crm@majlis.invalid", "wrong-guess-0000"))[0] == 401
    assert known == unknown == calls == [security.SCRYPT_N]


async def test_40_parallel_sign_ins_do_not_stall_a_signed_in_agent(desk, monkeypatch) -> None:
    """Hashing is held until the agent's request has completed: it can only complete if it does not wait for scrypt."""
    await desk.create_handoff("c-busy")
    await login(desk.session, desk.url(""), NOURA)
    release, hashing = hold_hashing(monkeypatch)
    order: List[str] = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as attacker:
        token = await form_token(attacker, desk.url(""))

        async def wrong(i: int) -> int:
            async with attacker.post(desk.url("/login"), data={"csrf_token": token, "email": f"x{i}@example.com",
                                                               "password": "wrong-guess-0000"}) as answer:
                order.append("sign-in")
                return answer.status

        attempts = [asyncio.ensure_future(wrong(i)) for i in range(40)]
        # both hashing threads are busy (and held): the sign-ins are running
        for _ in range(2):
            assert await started_in_thread(hashing)
        async with desk.session.get(desk.url("/api/v1/handoffs")) as answer:
            assert answer.status == 200 and (await answer.json())["total"] == 1
            order.append("agent")
        release.set()
        statuses = await asyncio.gather(*attempts)
    assert order[0] == "agent", "the agent's request waited for the sign-ins"
    assert set(statuses) <= {401, 429} and 401 in statuses


async def test_sign_ins_beyond_the_hashing_queue_are_refused_at_once(desk, monkeypatch) -> None:
    """With every password-check place taken, a further sign-in is a 429 instead of another waiting thread."""
    release, started = hold_hashing(monkeypatch)
    monkeypatch.setattr(desk.app.accounts, "_hash_slots", threading.BoundedSemaphore(1))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as first:
        waiting = asyncio.ensure_future(try_sign_in(desk, NOURA, "wrong-guess-0000", first))
        assert await started_in_thread(started)
        status, headers, page = await try_sign_in(desk, "john@example.com", PASSWORDS["john@example.com"])
        release.set()
        assert (await waiting)[0] == 401
    assert status == 429 and headers["Retry-After"] == "1" and "Too many sign-in attempts" in page
