"""Rasa's server app as ``./majlis start`` builds it, served on a real port inside the test.

``rasa.core.run.configure_app`` is looked up on the module at call time, so the fixes
:mod:`bot.rasa_fixes` installs there (request limit, CORS) are part of the app, as in
``bot.rasa_cli run``.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, List, Optional

from tests.conftest import free_port


@asynccontextmanager
async def served_rasa_app(channels: List[Any], agent: Any, *, cors: Optional[List[str]] = None) -> AsyncIterator[int]:
    """Serve ``channels`` around ``agent`` with Rasa's ``configure_app`` (fixes applied); yields the port."""
    import rasa.core.run
    from sanic import Sanic

    from bot.rasa_fixes import apply

    apply()  # as bot.rasa_cli does for ./majlis start
    Sanic.test_mode = True  # Rasa names every app alike; allow one per test
    port = free_port()
    app = rasa.core.run.configure_app(channels, cors=cors, enable_api=False, port=port)
    app.ctx.agent = agent
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield port
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
