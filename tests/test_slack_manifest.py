"""slack/manifest.yml is the single source of the Slack app's commands, events and scopes: it matches the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from adapters.slack._adapter import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((ROOT / "slack" / "manifest.yml").read_text(encoding="utf-8"))
# The bot scope each Web API method the adapter calls needs.
SCOPE_OF = {
    "auth_test": None,
    "chat_postMessage": "chat:write",
    "chat_postEphemeral": "chat:write",
    "reactions_add": "reactions:write",
    "users_info": "users:read",
    "files_upload_v2": "files:write",
}


def _source() -> str:
    return "".join(p.read_text(encoding="utf-8") for p in (ROOT / "adapters" / "slack").glob("*.py"))


def test_every_command_the_app_answers_is_in_the_manifest_and_no_other() -> None:
    declared = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert declared == set(COMMANDS)


def test_every_web_api_method_used_has_its_scope() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    used = set(re.findall(r"client\.(\w+)\(", _source()))
    assert used, "the adapter calls the Web API"
    unknown = used - set(SCOPE_OF)
    assert not unknown, f"add the scopes of {unknown} to SCOPE_OF and the manifest"
    for method in used:
        if SCOPE_OF[method]:
            assert SCOPE_OF[method] in scopes, f"{method} needs {SCOPE_OF[method]}"
    assert "files:read" in scopes  # drawings are downloaded from url_private_download
    assert "commands" in scopes


# Scopes no Web API call needs but the app does: downloads, slash commands and the events it reads.
NEEDED_WITHOUT_A_CALL = {"files:read", "commands", "app_mentions:read", "channels:history", "groups:history"}


def test_the_manifest_asks_for_no_scope_the_code_does_not_use() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    used = set(re.findall(r"client\.(\w+)\(", _source()))
    needed = {SCOPE_OF[m] for m in used if SCOPE_OF.get(m)} | NEEDED_WITHOUT_A_CALL
    assert scopes == needed, f"unused: {scopes - needed}, missing: {needed - scopes}"


def test_the_readme_lists_exactly_the_manifest_scopes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    step = readme[readme.index("*From a manifest*") :]
    step = step[: step.index("2. **Install it**")]
    listed = set(re.findall(r"`([a-z_]+(?::[a-z_]+)?)`", step[step.index("bot\n   scopes") :]))
    assert listed == set(MANIFEST["oauth_config"]["scopes"]["bot"])


def test_the_events_the_app_listens_to_are_subscribed() -> None:
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    source = _source()
    assert 'app.event("message")' in source and {"message.channels", "message.groups"} <= events
    assert 'app.event("app_mention")' in source and "app_mention" in events
    assert "app_mentions:read" in MANIFEST["oauth_config"]["scopes"]["bot"]
    assert {"channels:history", "groups:history"} <= set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True  # the round's buttons
