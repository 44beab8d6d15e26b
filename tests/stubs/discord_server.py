"""A local Discord gateway (WebSocket) + REST (HTTP) stand-in for tests (aiohttp, 127.0.0.1).

Real discord.py connects to it: point ``discord.http.Route.BASE`` at :attr:`DiscordStub.api_base`
and the gateway at :attr:`DiscordStub.gateway_url` (the adapter does both from the
``DISCORD_API_BASE`` / ``DISCORD_GATEWAY_URL`` settings). The stub answers IDENTIFY with READY
and one GUILD_CREATE per guild of the shard, acknowledges heartbeats, lets the test inject
``MESSAGE_CREATE`` / ``INTERACTION_CREATE`` payloads shaped like Discord's, and records every
REST call with its JSON body (``allowed_mentions``, ``flags``, ``embeds``, ``components``) and
multipart files. Everything is in memory; nothing leaves the loopback interface.

Usage::

    async with DiscordStub() as stub:
        ...start the bot with api base / gateway url from the stub...
        await stub.wait_ready()
        await stub.slash("draw", user=stub.alice)
        call = await stub.wait_for_call("POST", "/callback")
        assert call.flags & EPHEMERAL

Injecting: ``await message(author, content, channel=..., attachments=[attachment(...)], dm=False)``,
``await slash(name, {option: value}, user=..., channel=..., locale=..., dm=False)``,
``await press(custom_id, user=..., message=payload)`` (a button), ``await autocomplete(name,
options, focused, user=...)``. Reading: ``calls`` (every :class:`Call`), ``await wait_for_call(method,
path_part, where, after=index)``, ``posts()`` / ``public_posts()`` / ``public_texts()`` (what a
guild channel can see: not DMs, not ephemeral), ``dm_posts(member)``, ``created`` (message payloads
as answered, e.g. to press a button on one), ``identifies``, ``gateway_asked``; ``await settle()``
waits until the bot has stopped sending.

World (ids shaped like Discord's; see the attributes): one guild ``guild_id`` (``preferred_locale`` en-US) with
channels ``general`` and ``games``, a thread ``thread_id`` under ``general``, an ``@everyone``
role without Manage Server and an ``Admins`` role with it; members ``owner`` (Admins), ``alice``,
``bob`` and ``carol`` (plain members). ``add_guild`` adds another guild.

Knobs
-----
``closed_dms``              user ids whose DMs are closed: a message to their DM channel gets
                            403 with Discord's error code 50007.
``allow_message_content``   ``False`` makes IDENTIFY with the message content intent fail with
                            close code 4014 (the intent is not enabled in the developer portal).
                            A connection without the intent gets guild messages that do not
                            mention the bot with no content, attachments or embeds, as on Discord.
``reject_token``            ``True`` answers every REST call with 401 (a wrong bot token).
``no_embed_links``          channel ids where the bot lacks Embed Links: a message with an embed gets
                            403 with code 50013 (Missing Permissions), plain text goes through.
``outage``                  ``True`` answers every message post with 503 (Discord is down).
``attachments``             bytes served at ``/attachments/{id}/{filename}`` (what
                            :meth:`attachment` registers); ``Attachment.read()`` downloads them.
``downloads``               attachment ids downloaded so far.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

JSON = dict[str, Any]
DISCORD_EPOCH_MS = 1_420_070_400_000
MESSAGE_CONTENT_INTENT = 1 << 15
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | MESSAGE_CONTENT_INTENT  # members, presences, message content
EPHEMERAL = 64
MANAGE_GUILD = 1 << 5
# View channel, send messages, read history, embed links, attach files, add reactions, use slash commands.
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 14) | (1 << 15) | (1 << 6) | (1 << 31) | (1 << 38)


@dataclass
class Call:
    """One REST request as the stub saw it (``path`` without the ``/api/v10`` prefix)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any = None
    files: list[tuple[str, bytes, str | None]] = field(default_factory=list)  # (filename, data, content type)

    @property
    def flags(self) -> int:
        body = self.json or {}
        return int((body.get("data") or body).get("flags") or 0)

    @property
    def message(self) -> JSON:
        """The message part of the body (interaction callbacks nest it under ``data``)."""
        body = self.json or {}
        return body.get("data") or {} if self.path.endswith("/callback") else body

    def texts(self) -> list[str]:
        """Every piece of text this call would show: content, embed titles, descriptions, fields, footers."""
        msg = self.message
        out = [msg.get("content") or ""]
        for embed in msg.get("embeds") or []:
            out += [embed.get("title") or "", embed.get("description") or ""]
            out += [f"{f.get('name', '')} {f.get('value', '')}" for f in embed.get("fields") or []]
            out.append((embed.get("footer") or {}).get("text") or "")
        for row in msg.get("components") or []:
            out += [c.get("label") or "" for c in row.get("components") or []]
        return [t for t in out if t]


@dataclass
class Member:
    id: int
    name: str
    roles: tuple[int, ...] = ()
    bot: bool = False

    def user(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.name.lower(),
            "global_name": self.name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }

    def member(self, *, with_user: bool = True, permissions: int | None = None) -> JSON:
        data: JSON = {
            "roles": [str(r) for r in self.roles],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
        }
        if with_user:
            data["user"] = self.user()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class Guild:
    id: int
    name: str
    channels: dict[int, str]
    thread_parent: dict[int, int]
    admin_role: int
    members: dict[int, Member]
    preferred_locale: str = "en-US"

    def permissions_of(self, member: Member) -> int:
        perms = MEMBER_PERMISSIONS
        if self.admin_role in member.roles:
            perms |= MANAGE_GUILD
        return perms

    def payload(self, bot: Member) -> JSON:
        roles = [
            _role(self.id, "@everyone", MEMBER_PERMISSIONS, 0),
            _role(self.admin_role, "Admins", MEMBER_PERMISSIONS | MANAGE_GUILD, 1),
        ]
        channels = [
            {
                "id": str(cid),
                "type": 0,
                "guild_id": str(self.id),
                "name": name,
                "position": i,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            }
            for i, (cid, name) in enumerate(self.channels.items())
        ]
        threads = [
            {
                "id": str(tid),
                "type": 11,
                "guild_id": str(self.id),
                "parent_id": str(parent),
                "owner_id": str(next(iter(self.members))),
                "name": f"thread-{tid % 1000}",
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "message_count": 0,
                "member_count": 2,
                "flags": 0,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": "2026-01-01T00:00:00+00:00",
                    "locked": False,
                },
            }
            for tid, parent in self.thread_parent.items()
        ]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(next(iter(self.members))),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": "2026-01-01T00:00:00+00:00",
            "large": False,
            "unavailable": False,
            "member_count": len(self.members) + 1,
            "voice_states": [],
            "members": [bot.member()] + [m.member() for m in self.members.values()],
            "channels": channels,
            "threads": threads,
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


def _role(role_id: int, name: str, permissions: int, position: int) -> JSON:
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(permissions),
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def _invalid_embed(embeds: list[JSON]) -> JSON | None:
    """What Discord's form validation says of embeds it refuses (an empty field name or value), else None."""
    for index, embed in enumerate(embeds):
        for number, item in enumerate(embed.get("fields") or []):
            for key in ("name", "value"):
                if not str(item.get(key) or "").strip():
                    return {"embeds": {str(index): {"fields": {str(number): {key: "This field is required"}}}}}
    return None


def _json(body: Any, status: int = 200) -> web.Response:
    # discord.py decodes a body only when the content type is exactly "application/json", as Discord sends it.
    return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"})


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


class DiscordStub:
    """See the module docstring."""

    application_id = 900_000_000_000_000_001

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.calls: list[Call] = []
        self.closed_dms: set[int] = set()
        self.allow_message_content = True
        self.reject_token = False
        self.no_embed_links: set[int] = set()
        self.outage = False
        self.attachments: dict[int, bytes] = {}
        self.bytes_sent: dict[int, int] = {}
        self.downloads: list[int] = []
        self.identifies: list[JSON] = []
        self.created: list[JSON] = []  # every message the bot created, as the stub answered it
        self.gateway_asked = 0
        self._ids = itertools.count(1)
        self.bot = Member(self.application_id, "catchbot", bot=True)
        self.owner = Member(self.snowflake(), "Olivia")
        self.alice = Member(self.snowflake(), "Alice")
        self.bob = Member(self.snowflake(), "Bob")
        self.carol = Member(self.snowflake(), "Carol")
        self.guild_id = self.snowflake()
        self.general_id = self.snowflake()
        self.games_id = self.snowflake()
        self.thread_id = self.snowflake()
        admin_role = self.snowflake()
        self.owner.roles = (admin_role,)
        self.guilds: dict[int, Guild] = {}
        self.add_guild(
            Guild(
                self.guild_id,
                "Test Server",
                {self.general_id: "general", self.games_id: "games"},
                {self.thread_id: self.general_id},
                admin_role,
                {m.id: m for m in (self.owner, self.alice, self.bob, self.carol)},
            )
        )
        self._dm_channels: dict[int, int] = {}  # dm channel id -> user id
        self._interaction_channels: dict[int, int] = {}  # interaction id -> channel id
        self._intents: dict[int, int] = {}  # id(websocket) -> the intents it identified with
        self._sockets: list[tuple[web.WebSocketResponse, int, int, list[int]]] = []  # ws, shard, count, seq box
        self._ready = asyncio.Event()
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # --- life cycle ------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    async def start(self) -> DiscordStub:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{id}/{filename}", self._download)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.2, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        for ws, *_ in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordStub:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- the world ---------------------------------------------------------------------------

    def snowflake(self) -> int:
        """A fresh id shaped like Discord's (milliseconds since 2015 in the high bits)."""
        return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) + next(self._ids)

    def add_guild(self, guild: Guild) -> Guild:
        self.guilds[guild.id] = guild
        return guild

    def guild_of(self, channel_id: int) -> Guild | None:
        for guild in self.guilds.values():
            if channel_id in guild.channels or channel_id in guild.thread_parent:
                return guild
        return None

    def attachment(
        self, data: bytes, filename: str, content_type: str | None = "image/png", *, size: int | None = None
    ) -> JSON:
        """An attachment payload whose URL this stub serves; ``size`` may claim more than ``data``."""
        att_id = self.snowflake()
        self.attachments[att_id] = data
        url = f"http://{self.host}:{self.port}/attachments/{att_id}/{filename}"
        payload: JSON = {
            "id": str(att_id),
            "filename": filename,
            "size": len(data) if size is None else size,
            "url": url,
            "proxy_url": url,
        }
        if content_type is not None:
            payload["content_type"] = content_type
        return payload

    # --- injecting events --------------------------------------------------------------------

    async def wait_ready(self, shards: int = 1, within: float = 10.0) -> None:
        """Until ``shards`` connections have identified and had their guilds."""
        deadline = time.monotonic() + within
        while len(self.identifies) < shards:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.identifies)} of {shards} shards identified")
            await asyncio.sleep(0.01)
        await self._ready.wait()

    async def dispatch(self, event: str, data: JSON, guild_id: int | None = None) -> None:
        """Send a DISPATCH to the connection whose shard owns ``guild_id`` (DMs go to shard 0)."""
        for ws, shard, count, seq in list(self._sockets):
            owner = 0 if guild_id is None else (guild_id >> 22) % count
            if owner == shard and not ws.closed:
                seq[0] += 1
                await ws.send_str(json.dumps({"op": 0, "t": event, "s": seq[0], "d": data}))
                return
        raise RuntimeError(f"no gateway connection for guild {guild_id}")

    async def message(
        self,
        author: Member,
        content: str = "",
        *,
        channel: int | None = None,
        attachments: Iterable[JSON] = (),
        dm: bool = False,
    ) -> JSON:
        """Inject a MESSAGE_CREATE from ``author`` in ``channel`` (default general) or their DM."""
        message_id = self.snowflake()
        if dm:
            channel_id = self._dm_channel_for(author.id)
            guild = None
        else:
            channel_id = channel or self.general_id
            guild = self.guild_of(channel_id)
        data: JSON = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": author.user(),
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": list(attachments),
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
        }
        mentions_bot = f"<@{self.bot.id}>" in content or f"<@!{self.bot.id}>" in content
        if mentions_bot:
            data["mentions"] = [self.bot.user()]
        if guild is not None:
            data["guild_id"] = str(guild.id)
            data["member"] = author.member(with_user=False)
            if not mentions_bot and not self._reads_content(guild.id):
                # Discord's rule without the message content intent: no text, files or embeds.
                data.update(content="", attachments=[], embeds=[], components=[])
        await self.dispatch("MESSAGE_CREATE", data, guild.id if guild else None)
        return data

    def _reads_content(self, guild_id: int) -> bool:
        for ws, shard, count, _seq in self._sockets:
            if (guild_id >> 22) % count == shard and not ws.closed:
                return bool(self._intents.get(id(ws), 0) & MESSAGE_CONTENT_INTENT)
        return False

    async def slash(
        self,
        name: str,
        options: dict[str, str] | None = None,
        *,
        user: Member,
        channel: int | None = None,
        locale: str = "en-US",
        dm: bool = False,
    ) -> JSON:
        """Inject a slash command (INTERACTION_CREATE type 2) with string options."""
        data = {
            "id": str(self.snowflake()),
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()],
        }
        return await self._interaction(2, data, user=user, channel=channel, locale=locale, dm=dm)

    async def autocomplete(
        self, name: str, options: dict[str, str], focused: str, *, user: Member, channel: int | None = None
    ) -> JSON:
        """Inject an autocomplete request (INTERACTION_CREATE type 4) while ``focused`` is being typed."""
        data = {
            "id": str(self.snowflake()),
            "name": name,
            "type": 1,
            "options": [
                {"name": k, "type": 3, "value": v, **({"focused": True} if k == focused else {})}
                for k, v in options.items()
            ],
        }
        return await self._interaction(4, data, user=user, channel=channel, locale="en-US")

    async def press(self, custom_id: str, *, user: Member, message: JSON, locale: str = "en-US") -> JSON:
        """Inject a button press (INTERACTION_CREATE type 3) on ``message`` (a payload the bot posted)."""
        data = {"custom_id": custom_id, "component_type": 2}
        channel = int(message["channel_id"])
        return await self._interaction(3, data, user=user, channel=channel, locale=locale, message=message)

    async def _interaction(
        self,
        kind: int,
        data: JSON,
        *,
        user: Member,
        channel: int | None,
        locale: str,
        dm: bool = False,
        message: JSON | None = None,
    ) -> JSON:
        interaction_id = self.snowflake()
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": f"itoken-{interaction_id}",
            "version": 1,
            "locale": locale,
            "app_permissions": str(MEMBER_PERMISSIONS),
            "attachment_size_limit": 10 * 1024 * 1024,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
        }
        if dm:
            channel_id = self._dm_channel_for(user.id)
            payload.update(
                channel_id=str(channel_id),
                channel={"id": str(channel_id), "type": 1, "recipients": [user.user()]},
                user=user.user(),
                context=1,
            )
            guild_id = None
        else:
            channel_id = channel or self.general_id
            guild = self.guild_of(channel_id)
            assert guild is not None, f"unknown channel {channel_id}"
            guild_id = guild.id
            kind_of_channel = 11 if channel_id in guild.thread_parent else 0
            payload.update(
                guild_id=str(guild.id),
                guild_locale=guild.preferred_locale,
                guild={"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
                channel_id=str(channel_id),
                channel={"id": str(channel_id), "type": kind_of_channel, "guild_id": str(guild.id)},
                member=user.member(permissions=guild.permissions_of(user)),
                context=0,
            )
        if message is not None:
            payload["message"] = message
        self._interaction_channels[interaction_id] = channel_id
        await self.dispatch("INTERACTION_CREATE", payload, guild_id)
        return payload

    def _dm_channel_for(self, user_id: int) -> int:
        for channel_id, owner in self._dm_channels.items():
            if owner == user_id:
                return channel_id
        channel_id = self.snowflake()
        self._dm_channels[channel_id] = user_id
        return channel_id

    def dm_channel_of(self, user: Member) -> int:
        return self._dm_channel_for(user.id)

    # --- reading what the bot did --------------------------------------------------------------

    async def wait_for_call(
        self,
        method: str,
        path_part: str,
        where: Callable[[Call], bool] | None = None,
        *,
        after: int = 0,
        within: float = 8.0,
    ) -> Call:
        """The first call (from index ``after``) with this method, ``path_part`` in its path and ``where`` true."""

        def find() -> Call | None:
            for call in self.calls[after:]:
                if call.method == method and path_part in call.path and (where is None or where(call)):
                    return call
            return None

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: find() is not None), within)
        found = find()
        assert found is not None
        return found

    async def settle(self, quiet: float = 0.05, within: float = 2.0) -> None:
        """Until no REST call has arrived for ``quiet`` seconds (the bot has finished what it was sending)."""
        deadline = time.monotonic() + within
        seen = -1
        while len(self.calls) != seen and time.monotonic() < deadline:
            seen = len(self.calls)
            await asyncio.sleep(quiet)

    def posts(self) -> list[Call]:
        """Every call that creates or edits a message: channel messages, callbacks, followups."""
        return [
            c
            for c in self.calls
            if (c.method == "POST" and c.path.endswith("/messages"))
            or c.path.endswith("/callback")
            or (c.path.startswith("/webhooks/") and c.method in ("POST", "PATCH"))
        ]

    def public_posts(self) -> list[Call]:
        """Messages everyone in a guild channel can see (not DMs, not ephemeral)."""
        out = []
        for call in self.posts():
            if call.flags & EPHEMERAL:
                continue
            if call.method == "POST" and call.path.startswith("/channels/"):
                channel_id = int(call.path.split("/")[2])
                if channel_id in self._dm_channels:
                    continue
            out.append(call)
        return out

    def public_texts(self) -> list[str]:
        return [t for call in self.public_posts() for t in call.texts()]

    def dm_posts(self, user: Member) -> list[Call]:
        channel_id = self._dm_channel_for(user.id)
        return [c for c in self.calls if c.method == "POST" and c.path == f"/channels/{channel_id}/messages"]

    # --- gateway -----------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        entry: tuple[web.WebSocketResponse, int, int, list[int]] | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                packet = json.loads(msg.data)
                op = packet.get("op")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif op == 2:
                    entry = await self._identify(ws, packet["d"])
                    if entry is None:
                        break
                elif op == 6:
                    await ws.send_str(json.dumps({"op": 9, "d": False}))  # no resuming: identify again
        finally:
            if entry is not None and entry in self._sockets:
                self._sockets.remove(entry)
        return ws

    async def _identify(
        self, ws: web.WebSocketResponse, data: JSON
    ) -> tuple[web.WebSocketResponse, int, int, list[int]] | None:
        intents = int(data.get("intents") or 0)
        if intents & MESSAGE_CONTENT_INTENT and not self.allow_message_content:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        shard, count = data.get("shard") or [0, 1]
        self.identifies.append(data)
        self._intents[id(ws)] = intents
        seq = [1]
        entry = (ws, shard, count, seq)
        self._sockets.append(entry)
        mine = [g for g in self.guilds.values() if (g.id >> 22) % count == shard]
        ready = {
            "v": 10,
            "user": self.bot.user(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in mine],
            "session_id": f"session-{shard}-{len(self.identifies)}",
            "resume_gateway_url": self.gateway_url,
            "shard": [shard, count],
            "application": {"id": str(self.application_id), "flags": 1 << 19},
            "private_channels": [],
            "relationships": [],
        }
        await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": seq[0], "d": ready}))
        for guild in mine:
            seq[0] += 1
            await ws.send_str(json.dumps({"op": 0, "t": "GUILD_CREATE", "s": seq[0], "d": guild.payload(self.bot)}))
        self._ready.set()
        return entry

    # --- REST ----------------------------------------------------------------------------------

    async def _download(self, request: web.Request) -> web.StreamResponse:
        att_id = int(request.match_info["id"])
        if att_id not in self.attachments:
            return web.Response(status=404)
        self.downloads.append(att_id)
        # Streamed, and counted: how much of a file went out before the reader stopped.
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        data, step = self.attachments[att_id], 256 * 1024
        self.bytes_sent[att_id] = 0
        try:
            for start in range(0, len(data), step):
                await response.write(data[start : start + step])
                self.bytes_sent[att_id] += len(data[start : start + step])
            await response.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass  # the reader hung up: what it had was enough
        return response

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        call = Call(request.method, path, dict(request.query))
        if request.content_type == "application/json" and request.can_read_body:
            call.json = await request.json()
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":  # type: ignore[union-attr]
                    call.json = json.loads(await part.text())  # type: ignore[union-attr]
                elif part.filename:  # type: ignore[union-attr]
                    body = await part.read()  # type: ignore[union-attr]
                    call.files.append((part.filename, bytes(body), part.headers.get("Content-Type")))  # type: ignore[union-attr]
        async with self._arrived:
            self.calls.append(call)
            self._arrived.notify_all()
        return self._answer(call)

    def _answer(self, call: Call) -> web.StreamResponse:
        if self.reject_token:
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        parts = call.path.strip("/").split("/")
        method = call.method
        if parts == ["users", "@me"] and method == "GET":
            return _json(self.bot.user())
        if parts[0] == "users" and len(parts) == 2 and parts[1].isdigit() and method == "GET":
            return _json(self._member(int(parts[1])).user())
        if parts == ["oauth2", "applications", "@me"]:
            return _json(self._application())
        if parts == ["gateway", "bot"]:
            self.gateway_asked += 1
            limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
            return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})
        if parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            guild_id = parts[3] if len(parts) == 5 else None
            if guild_id is not None and int(guild_id) not in self.guilds:
                return _json({"message": "Unknown Guild", "code": 10004}, status=404)
            return _json([self._command(c, guild_id) for c in call.json or []])
        if parts[:2] == ["users", "@me"] and parts[-1] == "channels" and method == "POST":
            user_id = int((call.json or {})["recipient_id"])
            channel_id = self._dm_channel_for(user_id)
            user = self._member(user_id)
            return _json({"id": str(channel_id), "type": 1, "last_message_id": None, "recipients": [user.user()]})
        if parts[0] == "channels" and parts[-1] == "typing":
            return web.Response(status=204)
        if parts[0] == "channels" and "reactions" in parts:
            return web.Response(status=204)
        if parts[0] == "channels" and parts[-1] == "messages" and method == "POST":
            channel_id = int(parts[1])
            if self._dm_channels.get(channel_id) in self.closed_dms:
                body = {"message": "Cannot send messages to this user", "code": 50007}
                return _json(body, status=403)
            if self.outage:
                return _json({"message": "Service Unavailable", "code": 0}, status=503)
            embeds = (call.json or {}).get("embeds") or []
            if embeds and channel_id in self.no_embed_links:
                return _json({"message": "Missing Permissions", "code": 50013}, status=403)
            if invalid := _invalid_embed(embeds):
                return _json({"message": "Invalid Form Body", "code": 50035, "errors": invalid}, status=400)
            return _json(self._posted(call, channel_id))
        if parts[0] == "interactions" and parts[-1] == "callback":
            return _json(self._callback(call, int(parts[1])))
        if parts[0] == "webhooks":
            if method == "DELETE":
                return web.Response(status=204)
            interaction_id = int(parts[2].removeprefix("itoken-")) if parts[2].startswith("itoken-") else 0
            channel_id = self._interaction_channels.get(interaction_id, self.general_id)
            return _json(self._posted(call, channel_id))
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    def _member(self, user_id: int) -> Member:
        for guild in self.guilds.values():
            if user_id in guild.members:
                return guild.members[user_id]
        return Member(user_id, f"user{user_id % 1000}")

    def _application(self) -> JSON:
        return {
            "id": str(self.application_id),
            "name": "catchbot",
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner.user(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 1 << 19,
            "rpc_origins": [],
            "tags": [],
            "interactions_endpoint_url": None,
            "redirect_uris": [],
        }

    def _command(self, body: JSON, guild_id: str | None) -> JSON:
        data = {
            **body,
            "id": str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
            "default_member_permissions": body.get("default_member_permissions"),
        }
        if guild_id is not None:
            data["guild_id"] = guild_id
        return data

    def _posted(self, call: Call, channel_id: int) -> JSON:
        body = call.message
        guild = self.guild_of(channel_id)
        created = {
            "id": str(self.snowflake()),
            "channel_id": str(channel_id),
            **({"guild_id": str(guild.id)} if guild else {}),
            "author": self.bot.user(),
            "content": body.get("content") or "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [
                {
                    "id": str(self.snowflake()),
                    "filename": name,
                    "size": len(data),
                    "url": "http://invalid/",
                    "proxy_url": "http://invalid/",
                }
                for name, data, _ in call.files
            ],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": int(body.get("flags") or 0),
        }
        self.created.append(created)
        return created

    def _callback(self, call: Call, interaction_id: int) -> JSON:
        body = call.json or {}
        kind = int(body.get("type") or 0)
        out: JSON = {
            "interaction": {
                "id": str(interaction_id),
                "type": 2,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(call.flags & EPHEMERAL),
            }
        }
        if kind in (4, 5):
            message = self._posted(call, self._interaction_channels.get(interaction_id, self.general_id))
            out["interaction"]["response_message_id"] = message["id"]
            out["resource"] = {"type": kind, "message": message}
        return out
