"""Who is calling, CSRF, security headers, and the one place errors become HTTP statuses.

Two ways in:

- a desk session (cookie ``majlis_desk``: HttpOnly, SameSite=Lax, Secure over HTTPS):
  every state-changing request must carry the session's CSRF token (header
  ``X-CSRF-Token``, or form field ``csrf_token``); any request the browser marks as
  coming from another site (``Origin``, ``Sec-Fetch-Site``) is refused, reads too;
- an integration token (``Authorization: Bearer mjl_...``), limited to its scopes.
  Bearer requests carry no ambient credentials, so CSRF does not apply to them.

CORS never applies to the desk: even when the server runs with ``--cors``, desk
answers carry no ``Access-Control-Allow-*`` header (:func:`no_cors`), so another
site's script cannot read them.  :func:`desk_error` is the one place where an
exception becomes an HTTP answer.
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional, Sequence
from urllib.parse import urlsplit

from sanic import Blueprint, response
from sanic.exceptions import SanicException
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
MAX_JSON_DEPTH = 32


def page_csp(image_hosts: Sequence[str] = ()) -> str:
    """The pages' Content-Security-Policy: images only from here and the provider hosts."""
    images = " ".join(["'self'", *(f"https://{host}" for host in image_hosts)])
    return ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src {images}; media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class Unauthorized(DeskError):
    status = 401


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    """The authenticated caller of a request."""

    actor: Actor
    session: Optional[Session] = None
    integration: Optional[Integration] = None


def security_headers(answer: HTTPResponse, *, csp: Optional[str] = None) -> HTTPResponse:
    """Headers every desk answer carries (pages also get their CSP)."""
    answer.headers["X-Content-Type-Options"] = "nosniff"
    answer.headers["Referrer-Policy"] = "same-origin"
    answer.headers["Cache-Control"] = "no-store"
    if csp:
        answer.headers["Content-Security-Policy"] = csp
        answer.headers["X-Frame-Options"] = "DENY"
    return answer


def error_answer(exc: DeskError) -> HTTPResponse:
    """The JSON error answer for a refused request."""
    return security_headers(response.json({"error": exc.reason}, status=exc.status))


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    if request.headers.get("Sec-Fetch-Site", "same-origin").lower() not in ("same-origin", "none"):
        return False
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
    """The configured flag, else whether the request came over HTTPS.

    ``request.scheme`` follows ``X-Forwarded-Proto`` / ``Forwarded`` only when Sanic is
    told to trust a proxy (``SANIC_PROXIES_COUNT``, ``SANIC_FORWARDED_SECRET`` or
    ``SANIC_REAL_IP_HEADER``), so a client cannot choose it.
    """
    if setting is not None:
        return setting
    return request.scheme == "https"


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
    elif not same_origin(request):
        logger.warning("Desk request refused: cross-site read of %s", request.path)
        raise Forbidden("the desk API cannot be read from another site")
    return Caller(actor=session.account.actor(), session=session)


Handler = Callable[..., Awaitable[HTTPResponse]]


def api_route(desk: "DeskApp", scope: Optional[str]) -> Callable[[Handler], Handler]:
    """Authenticate and pass the :class:`Caller` (errors: :func:`desk_error`)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def route(request: Request, **kwargs: Any) -> HTTPResponse:
            caller = await identify(desk, request, scope)
            return security_headers(await handler(request, caller, **kwargs))

        return route

    return wrap


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value, stopping once past ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def body(request: Request) -> Dict[str, Any]:
    """The JSON object of a request body ({} when empty).

    Raises:
        DeskError: not JSON, not an object, nested deeper than :data:`MAX_JSON_DEPTH`,
            or text that is not valid Unicode (lone surrogates).
    """
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DeskError("body is not JSON") from None
    if not isinstance(data, dict):
        raise DeskError("body must be a JSON object")
    if _depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise DeskError(f"body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise DeskError("body contains text that is not valid Unicode") from None
    return data


def desk_error(request: Request, exc: Exception) -> HTTPResponse:
    """The one mapping from an exception to the desk's JSON answer."""
    if isinstance(exc, DeskError):
        return error_answer(exc)
    status = getattr(exc, "status_code", 500) if isinstance(exc, SanicException) else 500
    if status >= 500:
        logger.exception("Desk request failed: %s %s", request.method, request.path, exc_info=exc)
        return security_headers(response.json({"error": "internal error"}, status=500))
    return security_headers(response.json({"error": str(exc) or "bad request"}, status=status))


def no_cors(bp: Blueprint) -> None:
    """Keep CORS off the desk's answers, whatever the server's ``--cors`` says.

    Route-scoped response middleware runs after the app-wide one Sanic-CORS installs,
    so this removes whatever it added.
    """

    @bp.middleware("response")
    async def strip_cors(_request: Request, answer: HTTPResponse) -> None:
        for name in [h for h in answer.headers if h.lower().startswith("access-control-")]:
            del answer.headers[name]

    bp.exception(Exception)(desk_error)
