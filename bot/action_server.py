"""Majlis' action server: rasa_sdk's app, on 127.0.0.1, for Rasa only.

``rasa run actions`` (rasa_sdk 3.6.2) listens on every interface (``SANIC_HOST``
defaults to 0.0.0.0), runs any action for anyone who can reach it, inflates a
``deflate`` body without a size limit and answers errors with the request body.
Whoever reaches it can run ``action_buy_bundle`` for any customer with a forged
tracker.  This launcher serves the same rasa_sdk application (its executor, routes
and plugins) with:

- a shared secret: every call except ``GET /health`` must carry
  ``X-Majlis-Action-Secret: $MAJLIS_ACTION_SECRET`` (Rasa sends it: ``headers:`` of
  ``action_endpoint`` in endpoints.yml), compared in constant time; else 401 and
  nothing runs;
- the address 127.0.0.1 (``--host`` for a container network of its own);
- Sanic's request limit of 1 MiB, and ``deflate``/``gzip`` bodies inflated by us up
  to :data:`MAX_INFLATED_BYTES` (413 beyond), before rasa_sdk's handler sees them;
- no CORS (only Rasa calls it, never a browser);
- errors answered with their own status (413, 400) and without echoing the request.

Run it (``./majlis start`` does)::

    MAJLIS_ACTION_SECRET=... python -m bot.action_server --actions actions --port 5055
"""
from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import zlib
from typing import Any, Dict, Optional, Tuple

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import Secret
from bot.request_limits import MAX_REQUEST_BYTES, limit_requests

logger = logging.getLogger(__name__)

SECRET_ENV = "MAJLIS_ACTION_SECRET"
SECRET_HEADER = "X-Majlis-Action-Secret"
#: Largest action call once inflated (a whole tracker; Rasa compresses only when
#: COMPRESS_ACTION_SERVER_REQUEST is set).  A deflate bomb stops here.
MAX_INFLATED_BYTES = 16 * 1024 * 1024
_OPEN_PATHS = frozenset({"/health"})
#: wbits for zlib: deflate (zlib-wrapped, what aiohttp sends) and gzip.
_WBITS = {"deflate": zlib.MAX_WBITS, "gzip": 16 + zlib.MAX_WBITS}


class TooLarge(ValueError):
    """The inflated body is over :data:`MAX_INFLATED_BYTES`."""


def secret_matches(offered: Optional[str], secret: Secret) -> bool:
    """Constant-time comparison of the header value with the shared secret."""
    if not offered:
        return False
    return hmac.compare_digest(offered.encode("utf-8", "surrogatepass"), secret.reveal().encode("utf-8"))


def inflate(body: bytes, encoding: str, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """``body`` decompressed, never more than ``limit`` bytes of output.

    Raises:
        TooLarge: the output would exceed ``limit``.
        ValueError: not valid ``encoding`` data, or an unknown encoding.
    """
    wbits = _WBITS.get(encoding.strip().lower())
    if wbits is None:
        raise ValueError(f"unsupported Content-Encoding {encoding!r}")
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"body is not valid {encoding} data") from exc
    if len(out) > limit or decompressor.unconsumed_tail:
        raise TooLarge(f"inflated body larger than {limit} bytes")
    if not decompressor.eof:
        raise ValueError(f"body is truncated {encoding} data")
    return out


def read_action_call(raw: bytes) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """``(call, None)`` for a well-formed action call, else ``(None, reason)`` (a 400, not a 500)."""
    try:
        call = json.loads(raw)
    except (ValueError, RecursionError):
        return None, "body is not JSON"
    if not isinstance(call, dict) or not isinstance(call.get("next_action"), str):
        return None, 'an action call is a JSON object with "next_action"'
    if not isinstance(call.get("tracker"), dict) or not isinstance(call.get("domain", {}), (dict, type(None))):
        return None, 'an action call has a "tracker" object (and a "domain" object, if any)'
    return call, None


def create_app(actions_package: str, secret: Secret) -> Sanic:
    """rasa_sdk's action server application with Majlis' guards in front of it."""
    if not secret:
        raise ValueError(f"the action server needs a shared secret ({SECRET_ENV})")
    from rasa_sdk.endpoint import create_app as rasa_sdk_app

    app = rasa_sdk_app(actions_package, cors_origins=None)
    limit_requests(app)

    # rasa_sdk answers *every* exception with 500 and the request body, Sanic's 413 and
    # 400 included; these handlers take precedence (the most specific class wins).
    @app.exception(SanicException)
    async def http_error(_request: Request, exception: SanicException) -> HTTPResponse:
        return response.json({"error": str(exception)}, status=getattr(exception, "status_code", 500) or 500)

    @app.exception(Exception)
    async def action_failed(request: Request, exception: Exception) -> HTTPResponse:
        logger.error("Action server error on %s: %s", request.path, type(exception).__name__, exc_info=exception)
        return response.json({"error": "the action failed"}, status=500)

    @app.signal("http.lifecycle.exception")
    async def failed(request: Request, exception: BaseException) -> None:
        # Sanic 21.12 runs request middleware again before answering an error (a 413 while
        # reading the body): the guard must then leave the answer to the error handlers.
        request.ctx.failed = True

    @app.middleware("request")
    async def guard(request: Request) -> Optional[HTTPResponse]:
        if request.path in _OPEN_PATHS:
            return None
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            logger.warning("Action server call without the shared secret refused (%s %s)", request.method,
                           request.path)
            return response.json({"error": f"missing or wrong {SECRET_HEADER}"}, status=401)
        if getattr(request.ctx, "failed", False):
            return None
        encoding = request.headers.get("Content-Encoding")
        if encoding and encoding.strip().lower() != "identity":
            try:
                request.body = inflate(request.body or b"", encoding)
            except TooLarge as exc:
                return response.json({"error": str(exc)}, status=413)
            except ValueError as exc:
                return response.json({"error": str(exc)}, status=400)
            # rasa_sdk's handler would inflate "deflate" again, without a limit: it is done.
            del request.headers["Content-Encoding"]
        if request.path == "/webhook":
            call, reason = read_action_call(request.body or b"")
            if call is None:
                return response.json({"error": reason}, status=400)
            request.parsed_json = call  # rasa_sdk's handler reads request.json: parsed once, here
        return None

    return app


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", default="actions", help="package of the actions (default: actions)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args(argv)
    from rasa_sdk import utils
    from rasa_sdk.plugin import plugin_manager

    utils.configure_colored_logging(os.environ.get("LOG_LEVEL", "INFO"))
    utils.update_sanic_log_level()
    app = create_app(args.actions, Secret(os.environ.get(SECRET_ENV, "").strip()))
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    logger.info("Action server on http://%s:%d (shared secret required, body limit %d bytes)", args.host,
                args.port, MAX_REQUEST_BYTES)
    app.run(args.host, args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
