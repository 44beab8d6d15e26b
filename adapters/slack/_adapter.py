"""Slack events → core events, core replies → Slack Web API calls.

Every slash command, button and event is acknowledged first (Bolt's ``ack()``; events are
acknowledged by Bolt itself), then handled: model calls, downloads and database work happen
after Slack has its answer, so nothing waits past Slack's three seconds.

- Spaces are ``slack:<team id>`` (on Enterprise Grid the workspace's team id, else the
  enterprise id); a channel is its id, or ``<channel id>/<thread ts>`` for a round in a thread.
- Every event's ``event_id`` reaches the core, which ignores a resend (``X-Slack-Retry-Num``).
- Private replies go by ``chat.postEphemeral``; if Slack refuses one that holds a round's secret
  (the drawer left the channel), the core hears :class:`SecretUndelivered` and cancels the round.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters._download import read_at_most
from adapters.slack._render import ACTION_PREFIX, escape, render, unescape
from adapters.slack._users import Users
from bot import i18n
from bot.commands import lookup
from bot.errors import UserError
from bot.events import ChatMessage, Command, Event, ImageUpload, Origin, SecretUndelivered
from bot.replies import Ack, Picture, Quiet, Reply, Thinking, Whisper
from bot.services import NoRoute

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.engine import Engine

log = logging.getLogger("catchbot.slack")

SPACE_PREFIX = "slack:"
ACK_REACTION = "white_check_mark"
# Message subtypes that are not a player speaking: edits, deletions, joins, bots, topic changes…
_PLAYER_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_IMAGE_TYPES = re.compile(r"^image/", re.IGNORECASE)
_MENTION = re.compile(r"^\s*<@[A-Z0-9]+>\s*")


def space_id(team_id: str) -> str:
    return f"{SPACE_PREFIX}{team_id}"


def channel_of(channel_id: str, thread_ts: str | None) -> str:
    return f"{channel_id}/{thread_ts}" if thread_ts else channel_id


def place_of(channel: str) -> tuple[str, str | None]:
    """``C1/1700000000.0001`` → (``C1``, the thread's ts); a plain channel id → (it, None)."""
    channel_id, _, thread_ts = channel.partition("/")
    return channel_id, thread_ts or None


def team_of(body: dict[str, Any]) -> str:
    """The workspace an event came from; on Enterprise Grid, the enterprise when no team is named."""
    event = body.get("event") or {}
    team = body.get("team_id") or event.get("team") or (body.get("team") or {}).get("id")
    if not team:
        team = body.get("enterprise_id") or (body.get("enterprise") or {}).get("id") or "unknown"
    return str(team)


class SlackAdapter:
    """The Bolt app's listeners and the engine's transport for Slack."""

    def __init__(self, settings: Settings, engine: Engine, client: AsyncWebClient) -> None:
        self.settings = settings
        self.engine = engine
        self.client = client
        self.users = Users(client)
        self.token = client.token or ""

    # --- the transport: what the engine sends later (hints, time-outs, AI answers) --------------
    async def deliver(
        self, space: str, channel: str, replies: Sequence[Reply], *, message_ts: str | None = None
    ) -> None:
        if not space.startswith(SPACE_PREFIX):
            raise NoRoute(space)
        locale = (await self.engine.space(space)).locale
        channel_id, thread_ts = place_of(channel)
        for reply in replies:
            try:
                await self._send(space, channel, channel_id, thread_ts, reply, locale, message_ts)
            except SlackApiError as exc:
                log.warning("Slack refused %s in %s: %s", type(reply).__name__, channel, exc.response.get("error"))
                if isinstance(reply, Whisper) and reply.round_id is not None:
                    await self._secret_undelivered(space, channel, reply)
                elif not isinstance(reply, Whisper | Ack):
                    raise

    async def _send(
        self,
        space: str,
        channel: str,
        channel_id: str,
        thread_ts: str | None,
        reply: Reply,
        locale: str,
        message_ts: str | None,
    ) -> None:
        if isinstance(reply, Quiet | Thinking):
            return  # Slack shows a bot no typing indicator; why the core kept quiet is for the console only
        if isinstance(reply, Ack):
            if message_ts:
                await self.client.reactions_add(channel=channel_id, timestamp=message_ts, name=ACK_REACTION)
            return
        if isinstance(reply, Picture):
            await self.client.files_upload_v2(
                channel=channel_id,
                thread_ts=thread_ts,
                content=reply.data,
                filename=reply.filename,
                initial_comment=escape(reply.text),
            )
            return
        message = render(reply, locale)
        if message is None:
            return
        extra: dict[str, Any] = {"blocks": message.blocks} if message.blocks else {}
        if thread_ts:
            extra["thread_ts"] = thread_ts
        if isinstance(reply, Whisper):
            await self.client.chat_postEphemeral(channel=channel_id, user=reply.user, text=message.text, **extra)
        else:
            await self.client.chat_postMessage(
                channel=channel_id, text=message.text, unfurl_links=False, unfurl_media=False, **extra
            )

    async def _secret_undelivered(self, space: str, channel: str, whisper: Whisper) -> None:
        assert whisper.round_id is not None
        origin = Origin(space, channel, whisper.user, whisper.user)
        await self.deliver(space, channel, await self.engine.handle(SecretUndelivered(origin, whisper.round_id)))

    # --- from Slack to the core ---------------------------------------------------------------
    async def origin(
        self, team: str, channel: str, user_id: str, name: str | None = None, team_name: str | None = None
    ) -> Origin:
        user = await self.users.get(user_id, name)
        admin = user.is_admin or user_id in self.settings.admin_ids
        # No language hint: a Slack user's locale is theirs, not the channel's. The space speaks its own
        # `config locale`, else CATCHBOT_LOCALE, else the default, whoever triggered the message.
        return Origin(space_id(team), channel, user_id, user.name, is_admin=admin, space_name=team_name)

    async def handle(self, event: Event, *, message_ts: str | None = None) -> None:
        replies = await self.engine.handle(event)
        await self.deliver(event.origin.space, event.origin.channel, replies, message_ts=message_ts)

    async def on_command(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        words = unescape(str(body.get("text") or "")).split()
        name = str(body.get("command", "")).lstrip("/")
        if name == "catchbot":
            name, words = (words[0], words[1:]) if words else ("help", [])
        team, channel_id, user_id = team_of(body), str(body.get("channel_id", "")), str(body.get("user_id", ""))
        if channel_id.startswith("D"):  # a direct message with the bot: rounds are played in channels
            user = await self.users.get(user_id)
            text = i18n.text(i18n.language_of(user.locale) or "en", "slack.dm_only")
            await self.client.chat_postEphemeral(channel=channel_id, user=user_id, text=escape(text))
            return
        # A slash command names the workspace (its domain); events do not.
        origin = await self.origin(team, channel_id, user_id, body.get("user_name"), body.get("team_domain"))
        await self.handle(Command(origin, name, tuple(words)))

    async def on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """``@catchbot draw`` in a channel or a thread: a command, and a round there stays there."""
        words = unescape(_MENTION.sub("", str(event.get("text") or ""))).split()
        if not words or lookup(words[0]) is None:
            return  # a mention that is not a command may be a guess: the message event has it
        channel = channel_of(str(event["channel"]), event.get("thread_ts"))
        origin = await self.origin(team_of(body), channel, str(event.get("user", "")))
        await self.handle(Command(origin, words[0], tuple(words[1:]), event_id=body.get("event_id")))

    async def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        subtype = event.get("subtype")
        if event.get("bot_id") or subtype not in _PLAYER_SUBTYPES or not event.get("user"):
            return  # bots (ourselves included), edits, deletions, joins: nobody is guessing
        text = str(event.get("text") or "")
        if _MENTION.match(text) and (words := _MENTION.sub("", text).split()) and lookup(words[0]) is not None:
            return  # a command by mention: on_mention handles it
        channel = channel_of(str(event["channel"]), event.get("thread_ts"))
        origin = await self.origin(team_of(body), channel, str(event["user"]))
        event_id = body.get("event_id")
        files = event.get("files") or []
        if files:
            chosen = next((f for f in files if _IMAGE_TYPES.match(str(f.get("mimetype") or ""))), files[0])
            upload = ImageUpload(
                origin,
                b"",
                str(chosen.get("name") or "drawing"),
                chosen.get("mimetype"),
                event_id=event_id,
                size=size if isinstance(size := chosen.get("size"), int) and not isinstance(size, bool) else None,
                fetch=self._fetcher(str(chosen.get("url_private_download") or chosen.get("url_private") or "")),
            )
            await self.handle(upload, message_ts=event.get("ts"))
            return
        if text.strip():
            await self.handle(ChatMessage(origin, unescape(text), event_id=event_id), message_ts=event.get("ts"))

    async def on_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        name = str(action.get("action_id", "")).removeprefix(ACTION_PREFIX)
        channel_id = str((body.get("channel") or {}).get("id", ""))
        message = body.get("message") or {}
        channel = channel_of(channel_id, message.get("thread_ts"))
        user_id = str((body.get("user") or {}).get("id", ""))
        origin = await self.origin(team_of(body), channel, user_id, (body.get("user") or {}).get("name"))
        running = self.engine.rounds.get((origin.space, channel))
        if running is None or str(running.id) != str(action.get("value")):
            # A button on an earlier round's message must not act on the round running now.
            # Only the presser sees this: in their own language when Slack says it.
            user = await self.users.get(user_id)
            locale = i18n.language_of(user.locale) or (await self.engine.space(origin.space)).locale
            text = i18n.text(locale, "slack.button_stale")
            await self.deliver(origin.space, channel, [Whisper(user_id, text)])
            return
        await self.handle(Command(origin, name, (), event_id=f"action:{body.get('trigger_id')}"))

    def _fetcher(self, url: str) -> Any:
        token = self.token
        trusted = _file_hosts(self.client.base_url)

        async def fetch(limit: int) -> bytes:
            """The file's bytes (at most ``limit``), fetched with the bot token as Slack requires.

            The token goes only to Slack's own file hosts (and the configured API host, for a
            stand-in): an event naming any other URL gets one sentence, never the token.
            """
            host = (urlsplit(url).hostname or "").lower()
            if not any(host == h or host.endswith("." + h) for h in trusted):
                log.warning("a Slack file names a download host that is not Slack's (%r); not fetched", host)
                raise UserError("images.download_failed")
            return await read_at_most(url, limit, headers={"Authorization": f"Bearer {token}"}, what="Slack file")

        return fetch


SLACK_FILE_HOSTS = ("slack.com", "slack-edge.com", "slack-files.com", "slack-gov.com")


def _file_hosts(api_url: str) -> tuple[str, ...]:
    """Hosts the bot token may be sent to for a file: Slack's, and the configured Web API host."""
    api_host = (urlsplit(api_url).hostname or "").lower()
    return (*SLACK_FILE_HOSTS, api_host) if api_host else SLACK_FILE_HOSTS


COMMANDS = ("/catchbot", "/draw", "/dialect", "/leaderboard")

# Bolt reads SLACK_BOT_TOKEN from the environment too and warns that it goes unused when a client is given;
# ours holds that same token and the Web API base URL, so that one warning is noise.
_BOLT_LOG = logging.getLogger("catchbot.slack.bolt")
_BOLT_LOG.addFilter(lambda record: "`token` will be unused" not in record.getMessage())


def build_app(
    settings: Settings, engine: Engine, client: AsyncWebClient | None = None
) -> tuple[AsyncApp, SlackAdapter]:
    """The Bolt app (and its adapter, the engine's transport for Slack) for these settings."""
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

    if client is None:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        client = AsyncWebClient(token=token, base_url=settings.slack_api_url)
    # A 429 with Retry-After is waited out, never lost.
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = AsyncApp(
        client=client, signing_secret=secret, request_verification_enabled=secret is not None, logger=_BOLT_LOG
    )
    adapter = SlackAdapter(settings, engine, client)
    for command in COMMANDS:
        app.command(command)(adapter.on_command)
    app.event("app_mention")(adapter.on_mention)
    app.event("message")(adapter.on_message)
    app.action(re.compile(f"^{ACTION_PREFIX}"))(adapter.on_action)
    return app, adapter
