"""The report routes on a served desk: who may read, bad queries, CSV, the vendored Chart.js."""
from __future__ import annotations

import csv
import hashlib
import io

from tests.bot.agent_desk.conftest import desk, login  # noqa: F401 - fixture

CHART_SHA256 = "2812cb8825fdc57469eb2f7bb055e9429244e599920511ee477e828499b632cb"  # static/vendor/README.md


async def test_readers_agents_and_strangers(desk) -> None:
    async with desk.session.get(desk.url("/reports"), allow_redirects=False) as answer:
        assert answer.status == 303 and answer.headers["Location"].endswith("/login")
    async with desk.session.get(desk.url("/api/v1/reports")) as answer:
        assert answer.status == 401
    await login(desk.session, desk.url(""), "noura@example.com")
    for path in ("/reports", "/api/v1/reports", "/reports.csv"):
        async with desk.session.get(desk.url(path)) as answer:
            assert answer.status == 403, path


async def test_queries_csv_and_page(desk) -> None:
    await desk.create_handoff("971500000031")
    await login(desk.session, desk.url(""), "tina@example.com")  # a trainer reads, read-only
    for query in ("from=2026-13-01", "from=2026-02-01&to=2026-01-01", "from=2020-01-01&to=2026-01-01"):
        async with desk.session.get(desk.url(f"/api/v1/reports?{query}")) as answer:
            assert answer.status == 400, query
            assert (await answer.json())["error"]
    async with desk.session.get(desk.url("/reports")) as answer:
        page = await answer.text()
        assert answer.status == 200 and "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "/static/vendor/chart.umd.js" in page and "<script>" not in page
    async with desk.session.get(desk.url("/reports.csv?channel==HYPERLINK(1)")) as answer:
        assert answer.status == 200 and "attachment" in answer.headers["Content-Disposition"]
        lines = list(csv.reader(io.StringIO(await answer.text())))
    assert lines[0] == ["figure", "group", "measure", "value"]
    assert ["summary", "", "conversations", "0"] in lines  # the stub agent keeps no tracker: no conversations
    async with desk.session.get(desk.url("/api/v1/reports")) as answer:
        data = await answer.json()
    assert data["times"]["wait"] == {"p50": None, "p90": None, "count": 0}  # queued, not claimed yet
    async with desk.session.get(desk.url("/static/vendor/chart.umd.js")) as answer:
        body = await answer.read()
        assert answer.headers["Content-Type"].startswith("text/javascript")
    assert hashlib.sha256(body).hexdigest() == CHART_SHA256
    async with desk.session.get(desk.url("/static/vendor/..%2Fdesk.js")) as answer:
        assert answer.status == 404
