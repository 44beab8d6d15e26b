"""The Slack adapter: the same game as on Discord, over slack-bolt's async app.

- :func:`build_app` gives the Bolt app for settings and an engine (the Web API base URL comes
  from ``SLACK_API_URL``), for tests and scripts;
- :func:`web_app` serves it over HTTP (an aiohttp application at ``/slack/events``);
- :func:`run_slack` runs it until cancelled: Socket Mode when ``SLACK_APP_TOKEN`` is set, else HTTP
  on ``CATCHBOT_SLACK_PORT`` at ``/slack/events`` with requests verified by ``SLACK_SIGNING_SECRET``.

No game rule lives here: events become the core's events, replies become Web API calls.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from adapters.slack._adapter import SlackAdapter, build_app, channel_of, place_of, space_id
from bot.errors import UserError
from bot.logs import STATUS

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.engine import Engine

__all__ = ["EVENTS_PATH", "SlackAdapter", "build_app", "channel_of", "place_of", "run_slack", "space_id", "web_app"]

status = logging.getLogger(STATUS)  # shown by default: where the bot is connected
EVENTS_PATH = "/slack/events"
_TIMESTAMP = "X-Slack-Request-Timestamp"


def web_app(app: AsyncApp) -> web.Application:
    """Bolt's aiohttp application, refusing a request whose timestamp is not a number before Bolt reads it.

    Bolt's signature check turns a non-numeric ``X-Slack-Request-Timestamp`` into a 500; an
    unsigned request is the sender's fault and gets the same 401 as a wrong signature.
    """

    @web.middleware
    async def numeric_timestamp(request: web.Request, handler: Any) -> web.StreamResponse:
        stamp = request.headers.get(_TIMESTAMP, "")
        if not (stamp.isascii() and stamp.isdigit()):
            return web.Response(status=401, text="invalid request")
        return await handler(request)

    served = app.web_app(path=EVENTS_PATH)
    served.middlewares.append(numeric_timestamp)
    return served


async def run_slack(settings: Settings, engine: Engine, router: Any = None) -> None:
    """Connect to Slack and play until cancelled; ``router`` is the launcher's (it learns the Slack transport)."""
    if settings.slack_bot_token is None:
        raise UserError("slack.need_token")
    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        raise UserError("slack.need_mode")
    app, adapter = build_app(settings, engine)
    if router is not None:
        router.add("slack", adapter)
    try:
        identity = await app.client.auth_test()
    except SlackApiError as exc:
        raise UserError("slack.bad_token", error=str(exc.response.get("error", "?"))) from None
    status.info("Slack: connected as %s in %s", identity.get("user"), identity.get("team"))
    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
        status.info("Slack: Socket Mode")
        try:
            await handler.connect_async()
            await asyncio.Event().wait()
        finally:
            await handler.close_async()
        return
    runner = web.AppRunner(web_app(app))
    await runner.setup()
    site = web.TCPSite(runner, port=settings.slack_port)
    await site.start()
    status.info("Slack: HTTP mode on port %d at %s", settings.slack_port, EVENTS_PATH)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
