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


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"DISCORD_TOKEN": "x", "DISCORD_API_BASE": "http://127.0.0.1:{port}/api/v10"}, "Discord"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": "http://127.0.0.1:{port}/api/"},
            "Slack",
        ),
    ],
)
def test_an_unreachable_platform_is_one_sentence_not_a_traceback(tmp_path, env: dict[str, str], name: str) -> None:
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CATCHBOT_", "DISCORD_", "SLACK_", "OPENAI_"))}
    clean.update({k: v.format(port=port) for k, v in env.items()})
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "b.db"), "run"],
        capture_output=True,
        text=True,
        env=clean,
        cwd=tmp_path,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{name} could not be reached" in done.stderr
