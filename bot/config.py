"""Settings, read once at start-up from the environment and an optional ``.env``.

Every setting is documented in the README with its default. A bad value stops
start-up with one line that names the setting (:class:`ConfigError`).
Secrets are ``SecretStr`` so that they never show up in a log or a repr.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from bot.periods import time_zone

GAMES = ("drawing", "dialect")
Game = Literal["drawing", "dialect"]

DEFAULT_DRAWING_SYSTEM_PROMPT = (
    "You are given a image file. This image is not real picture. It is a simple drawing, drawn by Canvas API."
)
DEFAULT_DRAWING_USER_PROMPT = "What's in this image? Answer with the single thing it shows, within 30 characters."
DEFAULT_DIALECT_SYSTEM_PROMPT = (
    "다음은 한국어를 소리 나는 대로 적은 것입니다. 만약 이것이 방언이라면 표준어로 바꾸세요."
)

# List prices in USD per 1M tokens (input, output) as published in November 2026.
# Override with CATCHBOT_PRICES; a model missing here is costed at the "*" row
# and the figure is marked as an estimate.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-6-luna": {"input": 0.10, "output": 0.50},
    "gpt-6.1-terra": {"input": 0.40, "output": 1.60},
    "gpt-6.1-sol": {"input": 2.00, "output": 8.00},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "*": {"input": 2.50, "output": 10.00},
}

# Training prices in USD per 1M training tokens, used by `dataset check` and
# `finetune start` to estimate a job's cost before it is launched.
DEFAULT_TRAINING_PRICES: dict[str, float] = {
    "gpt-4o": 25.00,
    "gpt-4o-mini": 3.00,
    "gpt-4.1": 25.00,
    "gpt-4.1-mini": 5.00,
    "*": 25.00,
}


class ConfigError(Exception):
    """A setting has a value we cannot use; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CATCHBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
    )

    # --- core -----------------------------------------------------------
    db_path: Path = Path("catchbot.db")
    # postgresql://user:password@host/db switches to PostgreSQL (several processes on one database)
    database_url: SecretStr | None = None
    db_pool_size: int = Field(10, ge=1, le=500)
    # Unset: a space's own setting, else the platform's language (Korean for Korean, English otherwise).
    locale: Literal["ko", "en"] | None = None
    timezone: str = "Asia/Seoul"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"  # -v on the command line shows INFO
    admins: str = ""  # comma-separated user ids that are admins everywhere

    draw_seconds: int = Field(180, ge=2, le=3600)
    dialect_seconds: int = Field(60, ge=2, le=3600)
    # Brute force, not a fast typist: at most guess_limit guesses per guess_window seconds (0: no limit).
    guess_limit: int = Field(8, ge=0, le=1000)
    guess_window: float = Field(10.0, gt=0, le=600)
    max_redraws: int = Field(3, ge=0, le=10)
    guess_points_max: int = Field(10, ge=1, le=1000)
    guess_points_min: int = Field(3, ge=0, le=1000)
    drawer_points: int = Field(5, ge=0, le=1000)
    dialect_best_bonus: int = Field(3, ge=0, le=1000)
    # The semantic judge of dialect answers (a space turns it on with `config judge model`): the
    # model that rates (unset: the space's dialect model) and how long the round waits for it.
    judge_model: str | None = None
    judge_timeout: float = Field(8.0, gt=0, le=120)
    ai_only_daily_cap: int = Field(50, ge=0, le=100000)

    # --- model provider -------------------------------------------------
    provider: Literal["auto", "openai", "azure", "none"] = "auto"
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "CATCHBOT_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "CATCHBOT_OPENAI_BASE_URL")
    )
    azure_endpoint: str | None = Field(
        None, validation_alias=AliasChoices("AZURE_OPENAI_ENDPOINT", "CATCHBOT_AZURE_ENDPOINT")
    )
    azure_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("AZURE_OPENAI_API_KEY", "CATCHBOT_AZURE_API_KEY")
    )
    azure_api_version: str = Field(
        "2024-10-21", validation_alias=AliasChoices("OPENAI_API_VERSION", "CATCHBOT_AZURE_API_VERSION")
    )

    # --- models per game (ids or Azure deployment names) ------------------
    drawing_model: str = "gpt-6-luna"
    drawing_fallback_model: str = "gpt-6.1-terra"
    dialect_model: str = "gpt-6-luna"
    dialect_fallback_model: str = "gpt-6.1-terra"
    drawing_system_prompt: str = DEFAULT_DRAWING_SYSTEM_PROMPT
    drawing_user_prompt: str = DEFAULT_DRAWING_USER_PROMPT
    dialect_system_prompt: str = DEFAULT_DIALECT_SYSTEM_PROMPT
    drawing_temperature: float | None = Field(None, ge=0, le=2)
    drawing_top_p: float | None = Field(None, gt=0, le=1)
    drawing_max_tokens: int = Field(30, ge=1, le=4096)
    dialect_temperature: float | None = Field(None, ge=0, le=2)
    dialect_top_p: float | None = Field(None, gt=0, le=1)
    dialect_max_tokens: int = Field(200, ge=1, le=4096)
    model_timeout: float = Field(20.0, gt=0, le=600)
    model_retries: int = Field(3, ge=0, le=10)
    # Connections to the model server kept open at once (one per AI call in flight).
    model_connections: int = Field(1000, ge=1, le=100_000)
    # OpenAI's newer models take max_completion_tokens; many local servers only max_tokens.
    max_tokens_param: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"

    # --- images ---------------------------------------------------------
    image_detail: Literal["low", "high", "auto"] = "low"
    image_max_side: int = Field(512, ge=64, le=4096)
    upload_max_bytes: int = Field(20 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    image_max_pixels: int = Field(50_000_000, ge=10_000, le=500_000_000)

    # --- cost -----------------------------------------------------------
    prices: dict[str, dict[str, float]] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    training_prices: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_TRAINING_PRICES))
    # Local LoRA jobs (`finetune start --backend local`): one folder per job, with its state and adapter.
    train_dir: Path = Path("catchbot-training")
    daily_call_budget: int = Field(500, ge=0, le=10_000_000)
    daily_cost_budget: float = Field(5.0, ge=0, le=1_000_000)

    # --- platform tokens (adapters) --------------------------------------
    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DISCORD_TOKEN", "CATCHBOT_DISCORD_TOKEN")
    )
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "CATCHBOT_SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "CATCHBOT_SLACK_APP_TOKEN")
    )

    # --- Discord (README, "Discord") ------------------------------------------
    # A REST base such as a rate-limit proxy's (".../api/v10"); the gateway then comes from its /gateway/bot.
    discord_api_base: str | None = Field(
        None, validation_alias=AliasChoices("DISCORD_API_BASE", "CATCHBOT_DISCORD_API_BASE")
    )
    discord_gateway_url: str | None = Field(
        None, validation_alias=AliasChoices("DISCORD_GATEWAY_URL", "CATCHBOT_DISCORD_GATEWAY_URL")
    )
    discord_sync_guilds: str = Field(
        "", validation_alias=AliasChoices("DISCORD_SYNC_GUILDS", "CATCHBOT_DISCORD_SYNC_GUILDS")
    )
    discord_application_id: int | None = Field(
        None, validation_alias=AliasChoices("DISCORD_APPLICATION_ID", "CATCHBOT_DISCORD_APPLICATION_ID")
    )
    discord_shards: str = ""  # "16": 16 shards here; "0-3/16": shards 0 to 3 of 16 in this process
    discord_prefix: str = Field("!", min_length=1, max_length=5)

    # --- Slack (README, "Slack") ----------------------------------------------
    # HTTP mode instead of Socket Mode: requests verified with this secret on slack_port at /slack/events.
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "CATCHBOT_SLACK_SIGNING_SECRET")
    )
    # The Web API base (GovSlack: https://slack-gov.com/api/); the tests point it at a local stand-in.
    slack_api_url: str = Field(
        "https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL", "CATCHBOT_SLACK_API_URL")
    )
    slack_port: int = Field(3000, ge=1, le=65535)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if time_zone(value) is None:
            raise ValueError(f"unknown time zone {value[:64]!r} (use an IANA name such as Asia/Seoul)")
        return value

    @field_validator("discord_sync_guilds")
    @classmethod
    def _guild_ids(cls, value: str) -> str:
        if any(not part.strip().isdigit() for part in value.split(",") if part.strip()):
            raise ValueError("must be guild ids separated by commas")
        return value

    @field_validator("discord_shards")
    @classmethod
    def _shard_plan(cls, value: str) -> str:
        if value.strip():
            parse_shards(value)
        return value

    @field_validator("prices", "training_prices", mode="before")
    @classmethod
    def _json_table(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError("must be a JSON object") from exc
        return value

    @field_validator("prices")
    @classmethod
    def _merge_prices(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for model, row in value.items():
            if set(row) - {"input", "output", "cached_input"} or not {"input", "output"} <= set(row):
                raise ValueError(f"row {model!r} needs exactly 'input' and 'output' prices per 1M tokens")
            if any(v < 0 for v in row.values()):
                raise ValueError(f"row {model!r} has a negative price")
        return {**DEFAULT_PRICES, **value}

    @field_validator("training_prices")
    @classmethod
    def _merge_training_prices(cls, value: dict[str, float]) -> dict[str, float]:
        if any(v < 0 for v in value.values()):
            raise ValueError("prices cannot be negative")
        return {**DEFAULT_TRAINING_PRICES, **value}

    # --- derived ----------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def admin_ids(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.admins.split(",") if a.strip())

    @property
    def discord_sync_guild_ids(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.discord_sync_guilds.split(",") if p.strip())

    @property
    def discord_shard_plan(self) -> tuple[int, tuple[int, ...] | None] | None:
        """(shard count, this process's shard ids or None for all), or None when sharding is off."""
        return parse_shards(self.discord_shards) if self.discord_shards.strip() else None

    @property
    def resolved_provider(self) -> Literal["openai", "azure", "none"]:
        if self.provider != "auto":
            return self.provider
        if self.azure_endpoint:
            return "azure"
        if self.openai_api_key or self.openai_base_url:
            return "openai"
        return "none"

    def model_config_for(self, game: Game) -> ModelSettings:
        if game == "drawing":
            return ModelSettings(
                game="drawing",
                model=self.drawing_model,
                fallback=self.drawing_fallback_model,
                system_prompt=self.drawing_system_prompt,
                user_prompt=self.drawing_user_prompt,
                temperature=self.drawing_temperature,
                top_p=self.drawing_top_p,
                max_tokens=self.drawing_max_tokens,
            )
        return ModelSettings(
            game="dialect",
            model=self.dialect_model,
            fallback=self.dialect_fallback_model,
            system_prompt=self.dialect_system_prompt,
            user_prompt=None,
            temperature=self.dialect_temperature,
            top_p=self.dialect_top_p,
            max_tokens=self.dialect_max_tokens,
        )


def parse_shards(value: str) -> tuple[int, tuple[int, ...] | None]:
    """``"16"`` → (16, None); ``"0-3/16"`` → (16, (0, 1, 2, 3)); ``"0-3,8/16"`` too."""
    ids_part, _, count_part = value.strip().rpartition("/")
    if not count_part.isdigit() or int(count_part) < 1:
        raise ValueError("must be a shard count such as 16, or shards of a count such as 0-3/16")
    count = int(count_part)
    if not ids_part:
        return count, None
    ids: set[int] = set()
    for piece in ids_part.split(","):
        low, _, high = piece.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"cannot read shard range {piece.strip()!r} (use 0-3/16)")
        first, last = int(low), int(high or low)
        if first > last or last >= count:
            raise ValueError(f"shard range {piece.strip()!r} must lie within 0-{count - 1}")
        ids.update(range(first, last + 1))
    return count, tuple(sorted(ids))


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """How one game calls its model: the id, its fallback, prompts and parameters."""

    game: Game
    model: str
    fallback: str
    system_prompt: str
    user_prompt: str | None
    temperature: float | None
    top_p: float | None
    max_tokens: int


def _env_name(loc: tuple[Any, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    info = Settings.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        return str(info.validation_alias.choices[0])
    return f"CATCHBOT_{field.upper()}"


def load_settings(env_file: str | os.PathLike[str] | None = ".env", **overrides: Any) -> Settings:
    """Read the settings, turning pydantic's report into one readable line."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except SettingsError as exc:
        # pydantic-settings decodes JSON-valued settings itself and names the field in its message.
        field = re.search(r'field "(\w+)"', str(exc))
        name = _env_name((field.group(1),)) if field else "a setting"
        raise ConfigError(f"Setting {name} is invalid: it must be valid JSON") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        value = err.get("input")
        shown = "" if isinstance(value, dict) or value is None else f" (got {str(value)[:60]!r})"
        raise ConfigError(f"Setting {_env_name(err['loc'])} is invalid: {err['msg']}{shown}") from None
