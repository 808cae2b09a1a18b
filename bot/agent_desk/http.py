"""Who is calling, CSRF, security headers, and the one place errors become HTTP statuses.

Two ways in:

- a desk session (cookie ``majlis_desk``: HttpOnly, SameSite=Lax, Secure over HTTPS):
  every state-changing request must carry the session's CSRF token (header
  ``X-CSRF-Token``, or form field ``csrf_token``) and, if the browser sends an
  ``Origin``, come from this host;
- an integration token (``Authorization: Bearer mjl_...``), limited to its scopes.
  Bearer requests carry no ambient credentials, so CSRF does not apply to them.
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional
from urllib.parse import urlsplit

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.accounts import Integration, Session
from bot.agent_desk.security import same
from bot.handoff.desk import Actor, DeskError, Forbidden

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp

logger = logging.getLogger(__name__)

SESSION_COOKIE = "majlis_desk"
LOGIN_CSRF_COOKIE = "majlis_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class Unauthorized(DeskError):
    status = 401


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    """The authenticated caller of a request."""

    actor: Actor
    session: Optional[Session] = None
    integration: Optional[Integration] = None


def security_headers(answer: HTTPResponse, *, page: bool = False) -> HTTPResponse:
    """Headers every desk answer carries (pages also get a strict CSP)."""
    answer.headers["X-Content-Type-Options"] = "nosniff"
    answer.headers["Referrer-Policy"] = "same-origin"
    answer.headers["Cache-Control"] = "no-store"
    if page:
        answer.headers["Content-Security-Policy"] = PAGE_CSP
        answer.headers["X-Frame-Options"] = "DENY"
    return answer


def error_answer(exc: DeskError) -> HTTPResponse:
    """The JSON error answer for a refused request."""
    return security_headers(response.json({"error": exc.reason}, status=exc.status))


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


def check_csrf(request: Request, session: Session) -> None:
    """Refuse a state-changing request without the session's CSRF token.

    Raises:
        Forbidden: the token is missing or wrong, or the Origin is another site.
    """
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.form:
        token = request.form.get("csrf_token")
    if not same(token, session.csrf_token) or not same_origin(request):
        logger.warning("Desk request refused: CSRF check failed on %s", request.path)
        raise Forbidden("missing or invalid CSRF token")


def cookie_secure(request: Request, setting: Optional[bool]) -> bool:
    if setting is not None:
        return setting
    return request.scheme == "https" or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def set_cookie(answer: HTTPResponse, request: Request, name: str, value: str, *, secure: Optional[bool],
               max_age: int, path: str) -> None:
    """An HttpOnly, SameSite=Lax cookie (Secure over HTTPS or when configured)."""
    answer.cookies[name] = value
    cookie = answer.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Lax"
    cookie["path"] = path
    cookie["max-age"] = max_age
    if cookie_secure(request, secure):
        cookie["secure"] = True


async def identify(desk: "DeskApp", request: Request, scope: Optional[str]) -> Caller:
    """Authenticate a request (bearer token or session cookie + CSRF).

    Raises:
        Unauthorized: no valid credentials.
        Forbidden: the token lacks ``scope``, or the CSRF check failed.
    """
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        integration = await desk.accounts.integration(header[7:].strip())
        if integration is None:
            raise Unauthorized("invalid or revoked token")
        if scope is not None and scope not in integration.scopes:
            raise Forbidden(f"this token lacks the {scope} scope")
        return Caller(actor=integration.account.actor(), integration=integration)
    session = await desk.accounts.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise Unauthorized("sign in first")
    if request.method not in SAFE_METHODS:
        check_csrf(request, session)
    return Caller(actor=session.account.actor(), session=session)


Handler = Callable[..., Awaitable[HTTPResponse]]


def api_route(desk: "DeskApp", scope: Optional[str]) -> Callable[[Handler], Handler]:
    """Authenticate, pass the :class:`Caller`, and map :class:`DeskError` to its status."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def route(request: Request, **kwargs: Any) -> HTTPResponse:
            try:
                caller = await identify(desk, request, scope)
                return security_headers(await handler(request, caller, **kwargs))
            except DeskError as exc:
                return error_answer(exc)

        return route

    return wrap


def body(request: Request) -> Dict[str, Any]:
    """The JSON object of a request body ({} when empty).

    Raises:
        DeskError: the body is not a JSON object.
    """
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise DeskError("body is not JSON") from None
    if not isinstance(data, dict):
        raise DeskError("body must be a JSON object")
    return data
