"""Discord set-up: slash commands synced with both languages, shards and gateway discovery, the CLI, settings."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from adapters.discord import DiscordTransport, run_discord
from bot.commands import COMMANDS
from bot.config import ConfigError, load_settings
from bot.engine import Engine
from bot.errors import UserError
from bot.i18n import text
from storage import Database
from tests.discord_harness import discord_game
from tests.stubs.discord_server import DiscordStub


async def test_slash_commands_sync_to_the_listed_guilds_in_both_languages(make_settings) -> None:
    async with DiscordStub() as stub, discord_game(make_settings, stub=stub, discord_sync_guilds=str(stub.guild_id)):
        put = await stub.wait_for_call("PUT", f"/applications/{stub.application_id}/guilds/{stub.guild_id}/commands")
        by_name = {c["name"]: c for c in put.json}
        assert set(by_name) == {spec.name for spec in COMMANDS}
        draw = by_name["draw"]
        assert draw["description"] == text("en", "commands.draw")
        assert draw["description_localizations"]["ko"] == text("ko", "commands.draw")
        assert draw["name_localizations"]["ko"] == "그림"
        assert set(draw["description_localizations"]) == {"ko"}  # other languages see the English default
        (difficulty,) = draw["options"]
        assert [c["value"] for c in difficulty["choices"]] == ["easy", "normal", "hard", "any"]
        assert difficulty["description_localizations"]["ko"] == text("ko", "commands.param_difficulty")
        word = by_name["word"]
        assert [o["name"] for o in word["options"]] == ["action", "args"]
        assert all(len(c["description"]) <= 100 for c in put.json)


async def test_this_process_runs_its_shards_and_asks_the_rest_base_for_the_gateway(make_settings) -> None:
    async with DiscordStub() as stub:
        mine = (stub.guild_id >> 22) % 4  # the shard that owns the guild, by Discord's formula
        async with discord_game(make_settings, stub=stub, gateway=False, discord_shards=f"{mine}/4") as game:
            assert stub.gateway_asked == 1  # only the REST base was given: its /gateway/bot named the gateway
            assert [i["shard"] for i in stub.identifies] == [[mine, 4]]  # the other three run elsewhere
            await stub.slash("draw", user=stub.alice)
            await game.wait_round()
            await stub.wait_for_call("POST", "/callback")


def test_shard_and_guild_settings_are_checked(make_settings) -> None:
    settings = make_settings(discord_shards="0-3/16", discord_sync_guilds="1, 2")
    assert settings.discord_shard_plan == (16, (0, 1, 2, 3))
    assert settings.discord_sync_guild_ids == (1, 2)
    assert make_settings(discord_shards="4").discord_shard_plan == (4, None)
    assert make_settings().discord_shard_plan is None and make_settings().discord_prefix == "!"
    for bad in ("0-16/16", "a/4", "3-1/4"):
        with pytest.raises(ConfigError, match="CATCHBOT_DISCORD_SHARDS"):
            load_settings(None, discord_shards=bad)
    with pytest.raises(ConfigError, match="DISCORD_SYNC_GUILDS"):
        load_settings(None, discord_sync_guilds="general")


async def test_a_configured_prefix_replaces_the_default(make_settings) -> None:
    async with discord_game(make_settings, discord_prefix="?") as game:
        stub = game.stub
        await stub.message(stub.alice, "?draw")
        await game.wait_round()
        await game.channel_post(stub.general_id, lambda c: bool(c.message.get("components")))
        await stub.message(stub.bob, "!draw")  # "!" is not the prefix here: a (wrong) guess, answered by silence
        await stub.message(stub.bob, "?draw")
        await game.channel_post(stub.general_id, lambda c: "running" in c.message.get("content", ""))
        await asyncio.sleep(0.1)
        assert len([t for t in stub.public_texts() if "running" in t]) == 1


def test_invite_url_has_the_exact_scopes_and_permissions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    monkeypatch.setenv("DISCORD_APPLICATION_ID", "123456789012345678")
    assert main(["discord", "invite"]) == 0
    url = capsys.readouterr().out.strip()
    query = parse_qs(urlparse(url).query)
    assert url.startswith("https://discord.com/oauth2/authorize?")
    assert query["client_id"] == ["123456789012345678"]
    assert query["scope"] == ["bot applications.commands"]
    # View channels, send messages (and in threads), embed links, attach files, read history, add reactions.
    assert query["permissions"] == [
        str((1 << 10) | (1 << 11) | (1 << 38) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6))
    ]


async def test_catchbot_discord_sync_registers_commands_globally(tmp_path: Path) -> None:
    async with DiscordStub() as stub:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CATCHBOT_", "DISCORD_"))}
        env.update(DISCORD_TOKEN="test-token", DISCORD_API_BASE=stub.api_base, CATCHBOT_DB_PATH=str(tmp_path / "x.db"))
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "discord", "sync", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        put = [c for c in stub.calls if c.method == "PUT"]
        assert [c.path for c in put] == [f"/applications/{stub.application_id}/commands"]
        assert len(put[0].json) == len(COMMANDS) and f"{len(COMMANDS)} slash commands" in out.decode()
        assert stub.identifies == []  # set-up only: no gateway connection


async def test_discord_sync_to_a_server_the_bot_is_not_in_is_one_sentence(tmp_path: Path) -> None:
    async with DiscordStub() as stub:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CATCHBOT_", "DISCORD_"))}
        env.update(DISCORD_TOKEN="test-token", DISCORD_API_BASE=stub.api_base, CATCHBOT_DB_PATH=str(tmp_path / "x.db"))
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "discord", "sync", "--guild", "42", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 2
        lines = err.decode().strip().splitlines()
        assert len(lines) == 1 and "42" in lines[0] and "Traceback" not in err.decode(), err.decode()


async def test_model_ids_and_setting_values_are_autocompleted(make_settings) -> None:
    async with discord_game(make_settings, drawing_model="ft:gpt-4o:org:canvas:1") as game:
        stub = game.stub
        await stub.autocomplete("config", {"key": "timezone", "value": "seo"}, "value", user=stub.owner)
        zones = await stub.wait_for_call("POST", "/callback")
        assert zones.json["type"] == 8
        assert [c["value"] for c in zones.json["data"]["choices"]] == ["Asia/Seoul"]
        mark = len(stub.calls)
        await stub.autocomplete("model", {"game": "drawing", "model": "canvas"}, "model", user=stub.owner)
        models = await stub.wait_for_call("POST", "/callback", after=mark)
        assert [c["value"] for c in models.json["data"]["choices"]] == ["ft:gpt-4o:org:canvas:1"]


async def test_a_wrong_token_stops_with_one_sentence(make_settings) -> None:
    async with DiscordStub() as stub:
        stub.reject_token = True
        settings = make_settings(discord_token="wrong", discord_api_base=stub.api_base)
        engine = Engine(settings, await Database.open(settings.db_path), transport=DiscordTransport())
        try:
            with pytest.raises(UserError) as caught:
                await asyncio.wait_for(run_discord(settings, engine), 10)
        finally:
            await engine.db.close()
        assert "DISCORD_TOKEN" in str(caught.value) and "wrong" not in str(caught.value)


async def test_without_listed_guilds_commands_sync_globally_once_per_change(make_settings) -> None:
    path = f"/applications/{DiscordStub.application_id}/commands"
    async with discord_game(make_settings) as first:
        put = await first.stub.wait_for_call("PUT", path)
        assert {c["name"] for c in put.json} == {spec.name for spec in COMMANDS}
    async with discord_game(make_settings) as again:  # same database, same commands: nothing to send
        await again.stub.slash("help", user=again.stub.alice)
        await again.stub.wait_for_call("POST", "/callback")
        assert not any(c.method == "PUT" for c in again.stub.calls)


async def test_space_options_take_the_server_id_and_db_spaces_lists_the_servers(make_settings, tmp_path: Path) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        await stub.message(stub.alice, "!help")
        await stub.wait_for_call("POST", "/messages")
        await game.engine.idle()
        db_path, guild = str(game.settings.db_path), stub.guild_id
    guild_name = stub.guilds[guild].name
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATCHBOT_", "DISCORD_", "OPENAI_"))}

    async def cli(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--db", db_path, *args, cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode(), err.decode()

    code, out, _ = await cli("db", "spaces")
    assert code == 0 and f"discord:{guild}" in out and "discord" in out and guild_name in out
    # The raw server id (what Discord's "Copy Server ID" gives), the stored id and the name all name it.
    for given in (str(guild), f"discord:{guild}", guild_name):
        code, out, err = await cli("finetune", "use", "ft:gpt-4.1-mini:org:x:1", "--game", "dialect", "--space", given)
        assert code == 0, err
    db = await Database.open(Path(db_path))
    try:
        assert await db.get_setting(f"discord:{guild}", "model.dialect") == "ft:gpt-4.1-mini:org:x:1"
        assert await db.get_setting(str(guild), "model.dialect") is None
    finally:
        await db.close()
    code, _, err = await cli("finetune", "use", "ft:gpt-4.1-mini:org:x:1", "--game", "dialect", "--space", "12345")
    assert code == 2 and "no space 12345" in err and "catchbot db spaces" in err
    code, _, err = await cli("bank", "import-dialect", str(tmp_path), "--space", "nope")
    assert code == 2 and "no space nope" in err
