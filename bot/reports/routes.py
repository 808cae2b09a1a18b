"""The desk's report page: ``/reports`` (HTML), ``/api/v1/reports`` (JSON), ``/reports.csv``.

Supervisors and admins see the reports; trainers too, read-only (nothing here writes).
Agents are refused.  The page is a shell like the desk's other pages: reports.js
fetches the JSON and draws each figure with Chart.js (vendored under
``static/vendor/``, no CDN) and as a table, with ``textContent`` only.
"""
from __future__ import annotations

import mimetypes
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple
from zoneinfo import ZoneInfo

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.http import SESSION_COOKIE, Caller, api_route, page_csp, security_headers
from bot.agent_desk.pages import render
from bot.handoff.desk import DeskError, Forbidden
from bot.reports.export import to_csv
from bot.reports.figures import DIMENSIONS, ReportQuery
from bot.reports.service import ReportService

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp

VENDOR = Path(__file__).resolve().parents[1] / "agent_desk" / "static" / "vendor"
READERS = ("supervisor", "admin", "trainer")
DEFAULT_DAYS, MAX_DAYS = 30, 400


class BadQuery(DeskError):
    """A report query the desk refuses (400)."""


def parse_query(args: Any, today: date) -> ReportQuery:
    """The date range (``from``/``to``, inclusive, default the last 30 days) and filters."""
    def day(name: str, default: date) -> date:
        raw = args.get(name)
        if not raw:
            return default
        try:
            return date.fromisoformat(str(raw)[:10])
        except ValueError:
            raise BadQuery(f"{name} must be a date (YYYY-MM-DD)") from None

    end = day("to", today)
    start = day("from", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise BadQuery("from is after to")
    if (end - start).days >= MAX_DAYS:
        raise BadQuery(f"at most {MAX_DAYS} days at a time")
    filters = {name: str(args.get(name))[:100] for name in DIMENSIONS if args.get(name)}
    return ReportQuery(start, end, filters)


def register_reports(bp: Blueprint, desk: "DeskApp", base: str) -> ReportService:
    """Add the report routes and the background refresher to the desk's blueprint."""
    service = ReportService(desk.service.store.engine, lambda: desk.service.trackers.agent)
    csp = page_csp(desk.media.all_hosts())

    async def reader(request: Request) -> Tuple[Optional[Any], Optional[HTTPResponse]]:
        session = await desk.accounts.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None, security_headers(response.redirect(f"{base}/login", status=303))
        if session.account.role not in READERS:
            return None, security_headers(response.html("<p>Supervisors and trainers only.</p>", status=403), csp=csp)
        return session, None

    async def figures(request: Request) -> Dict[str, Any]:
        """Raises BadQuery (400)."""
        return await service.figures(parse_query(request.args, datetime.now(ZoneInfo(service.zone)).date()))

    @bp.route("/reports", methods=["GET"])
    async def reports_page(request: Request) -> HTTPResponse:
        session, refused = await reader(request)
        if refused is not None:
            return refused
        return security_headers(response.html(render(
            "reports.html", base=base, csrf=session.csrf_token, name=session.account.display_name,
            role=session.account.role)), csp=csp)

    @bp.route("/api/v1/reports", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def reports_json(request: Request, caller: Caller) -> HTTPResponse:
        # the desk's API authentication: a session (with CSRF rules) or an integration token
        if caller.actor.role not in READERS:
            raise Forbidden("supervisors, admins and trainers only")
        return response.json(await figures(request))

    @bp.route("/reports.csv", methods=["GET"])
    async def reports_csv(request: Request) -> HTTPResponse:
        _session, refused = await reader(request)
        if refused is not None:
            return refused
        try:
            data = await figures(request)
        except BadQuery as exc:
            return security_headers(response.json({"error": exc.reason}, status=exc.status))
        name = f"majlis-report-{data['range']['from']}-{data['range']['to']}.csv"
        return security_headers(response.text(to_csv(data), content_type="text/csv; charset=utf-8",
                                              headers={"Content-Disposition": f'attachment; filename="{name}"'}))

    @bp.route("/static/vendor/<name>", methods=["GET"])
    async def vendor(_request: Request, name: str) -> HTTPResponse:
        path = (VENDOR / name).resolve()
        if path.parent != VENDOR or not path.is_file():
            return security_headers(response.text("not found", status=404))
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return security_headers(response.raw(path.read_bytes(), content_type=f"{content_type}; charset=utf-8"))

    @bp.listener("after_server_start")
    async def start(_app: Any, _loop: Any) -> None:
        service.start()

    @bp.listener("before_server_stop")
    async def stop(_app: Any, _loop: Any) -> None:
        await service.stop()

    return service
