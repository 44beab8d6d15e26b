"""Settings from the environment and .env, and the one-line errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_env_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("CATCHBOT_LOCALE=en\nCATCHBOT_DRAW_SECONDS=90\nOPENAI_BASE_URL=http://127.0.0.1:8000/v1\n")
    monkeypatch.setenv("CATCHBOT_DRAW_SECONDS", "120")  # the environment wins over the file
    settings = load_settings(env)
    assert settings.locale == "en" and settings.draw_seconds == 120
    assert settings.resolved_provider == "openai"


def test_defaults_without_anything() -> None:
    settings = load_settings(None)
    assert settings.locale is None and settings.timezone == "Asia/Seoul"
    assert settings.resolved_provider == "none"
    assert settings.model_config_for("drawing").system_prompt.startswith("You are given a image file.")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CATCHBOT_DRAW_SECONDS", "soon", "CATCHBOT_DRAW_SECONDS"),
        ("CATCHBOT_TIMEZONE", "Mars/Base", "unknown time zone"),
        ("CATCHBOT_TIMEZONE", "Asia", "unknown time zone"),
        ("CATCHBOT_TIMEZONE", "Asia/" + "x" * 300, "unknown time zone"),
        ("CATCHBOT_PRICES", "{not json", "CATCHBOT_PRICES"),
        ("CATCHBOT_IMAGE_DETAIL", "ultra", "CATCHBOT_IMAGE_DETAIL"),
        ("CATCHBOT_GUESS_LIMIT", "-1", "CATCHBOT_GUESS_LIMIT"),
    ],
)
def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    message = str(caught.value)
    assert expected in message and "\n" not in message


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    settings = load_settings(None)
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings.model_dump())
    assert settings.resolved_provider == "openai"


def test_azure_wins_when_its_endpoint_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://example.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert load_settings(None).resolved_provider == "azure"
