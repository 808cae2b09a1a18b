"""The desk's HTML pages: sign-in, the desk, the supervisor view, static files, OpenAPI.

Pages are small shells rendered with :func:`render`, which HTML-escapes every value;
everything a customer wrote is put on the page by desk.js with ``textContent``,
never as HTML.  A strict Content-Security-Policy (no inline script) backs that up.
"""
from __future__ import annotations

import html
import logging
import mimetypes
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.accounts import SESSION_LIFETIME, Busy, Session
from bot.agent_desk.http import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    page_csp,
    same_origin,
    security_headers,
    set_cookie,
)
from bot.agent_desk.security import MAX_PASSWORD, new_token, same
from bot.handoff.desk import DeskError

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
OPENAPI = HERE / "openapi.yaml"


def render(template_name: str, **values: Any) -> str:
    """Fill ``templates/<template_name>`` with HTML-escaped values."""
    template = Template((HERE / "templates" / template_name).read_text(encoding="utf-8"))
    return template.substitute({key: html.escape(str(value), quote=True) for key, value in values.items()})


def too_many(seconds: int) -> str:
    return (f"Too many sign-in attempts; try again in {seconds} s · "
            f"محاولات دخول كثيرة، حاول مرة أخرى بعد {seconds} ثانية")


def register_pages(bp: Blueprint, desk: "DeskApp", base: str) -> None:
    """Add the page routes to ``bp``; ``base`` is the URL prefix (``/webhooks/agent_desk``)."""
    csp = page_csp(desk.media.all_hosts())

    def page(text: str, status: int = 200) -> HTTPResponse:
        return security_headers(response.html(text, status=status), csp=csp)

    async def session_of(request: Request) -> Optional[Session]:
        return await desk.accounts.session(request.cookies.get(SESSION_COOKIE))

    def login_page(request: Request, error: str = "", email: str = "", status: int = 200,
                   retry_after: int = 0) -> HTTPResponse:
        token = new_token()
        answer = page(render("login.html", base=base, csrf=token, error=error, email=email), status)
        set_cookie(answer, request, LOGIN_CSRF_COOKIE, token, secure=desk.cookie_secure, max_age=3600,
                   path=base)
        if retry_after:
            answer.headers["Retry-After"] = str(retry_after)
        return answer

    @bp.route("/", methods=["GET"])
    async def health(_request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @bp.route("/login", methods=["GET"])
    async def login_form(request: Request) -> HTTPResponse:
        return login_page(request)

    @bp.route("/login", methods=["POST"])
    async def login(request: Request) -> HTTPResponse:
        form = request.form or {}
        if not same(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)) or not same_origin(request):
            logger.warning("Desk sign-in refused: CSRF check failed")
            return login_page(request, "Your session expired; please try again.", status=403)
        email = str(form.get("email") or "")[:255]
        limits = desk.throttle.keys(request.remote_addr or request.ip, email)
        wait = desk.throttle.retry_after(limits)
        if wait:
            logger.warning("Desk sign-in throttled for %d s", wait)
            return login_page(request, too_many(wait), email, 429, retry_after=wait)
        try:
            account = await desk.accounts.authenticate(email, str(form.get("password") or "")[:MAX_PASSWORD + 1])
        except Busy:
            logger.warning("Desk sign-in refused: too many password checks waiting")
            return login_page(request, too_many(1), email, 429, retry_after=1)
        if account is None:
            desk.throttle.failed(limits)
            logger.info("Desk sign-in failed")
            return login_page(request, "Wrong email or password · البريد أو كلمة المرور غير صحيحة", email, 401)
        desk.throttle.succeeded(next(key for key in limits if key.startswith("account:")))
        token, _session = await desk.accounts.start_session(account)
        logger.info("Agent %d signed in", account.id)
        answer = security_headers(response.redirect(f"{base}/desk", status=303))
        set_cookie(answer, request, SESSION_COOKIE, token, secure=desk.cookie_secure,
                   max_age=int(SESSION_LIFETIME.total_seconds()), path=base)
        return answer

    @bp.route("/logout", methods=["POST"])
    async def logout(request: Request) -> HTTPResponse:
        session = await session_of(request)
        if session is not None:
            try:
                check_csrf(request, session)
            except DeskError as exc:
                return security_headers(response.text(exc.reason, status=exc.status))
            await desk.accounts.end_session(request.cookies.get(SESSION_COOKIE, ""))
            await desk.assigner.set_available(session.account.id, False)  # nobody is offered to a signed-out agent
        answer = security_headers(response.redirect(f"{base}/login", status=303))
        answer.cookies[SESSION_COOKIE] = ""
        answer.cookies[SESSION_COOKIE]["max-age"] = 0
        answer.cookies[SESSION_COOKIE]["path"] = base
        return answer

    @bp.route("/desk", methods=["GET"])
    async def desk_page(request: Request) -> HTTPResponse:
        session = await session_of(request)
        if session is None:
            return security_headers(response.redirect(f"{base}/login", status=303))
        account = session.account
        return page(render("desk.html", base=base, csrf=session.csrf_token, name=account.display_name,
                           role=account.role))

    @bp.route("/supervisor", methods=["GET"])
    async def supervisor_page(request: Request) -> HTTPResponse:
        session = await session_of(request)
        if session is None:
            return security_headers(response.redirect(f"{base}/login", status=303))
        if session.account.role not in ("supervisor", "admin"):
            return page("<p>Supervisors only.</p>", 403)
        return page(render("supervisor.html", base=base, csrf=session.csrf_token,
                           name=session.account.display_name))

    @bp.route("/static/<name>", methods=["GET"])
    async def static(_request: Request, name: str) -> HTTPResponse:
        path = (STATIC / name).resolve()
        if path.parent != STATIC or not path.is_file():
            return security_headers(response.text("not found", status=404))
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        answer = response.raw(path.read_bytes(), content_type=f"{content_type}; charset=utf-8")
        return security_headers(answer)

    @bp.route("/api/v1/openapi.yaml", methods=["GET"])
    async def openapi(_request: Request) -> HTTPResponse:
        return security_headers(response.raw(OPENAPI.read_bytes(), content_type="application/yaml; charset=utf-8"))
