"""One engine, several platforms: later messages reach the adapter whose space they belong to."""

from __future__ import annotations

import pytest

from adapters.launch import Router, configured_platforms, platform_of
from bot.replies import Say
from bot.services import NoRoute
from tests.helpers import RecordingTransport


def test_platform_of_reads_the_namespace() -> None:
    assert platform_of("discord:123") == "discord" and platform_of("slack:T1") == "slack"
    assert platform_of("console") == "console"


async def test_router_delivers_by_platform_and_drops_the_unknown() -> None:
    discord, slack = RecordingTransport(), RecordingTransport()
    router = Router()
    router.add("discord", discord)
    router.add("slack", slack)
    await router.deliver("discord:1", "c", [Say("a")])
    await router.deliver("slack:T9", "C1", [Say("b")])
    with pytest.raises(NoRoute):
        await router.deliver("elsewhere:1", "c", [Say("c")])
    assert discord.sent == [("discord:1", "c", Say("a"))] and slack.sent == [("slack:T9", "C1", Say("b"))]


def test_configured_platforms_follow_the_tokens(make_settings) -> None:
    assert configured_platforms(make_settings()) == []
    both = make_settings(discord_token="x", slack_bot_token="xoxb-1")
    assert configured_platforms(both) == ["discord", "slack"]
