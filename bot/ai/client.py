"""Build the ``openai`` client for the configured provider.

The client is made with ``max_retries=0``: :class:`bot.ai.players.ModelGateway`
retries by itself so that it can count failures, cap the waits and fall back to
another model instead of hiding all of that inside the SDK.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

import openai

from bot.ai.bounded_http import GAME_RESPONSE_LIMIT, BoundedTransport
from bot.config import ConfigError, Settings

# A local OpenAI-compatible server (vLLM, Ollama, llama.cpp) needs no key, but the
# SDK refuses to start without one.
LOCAL_KEY = "not-needed"

TokensParam = Literal["max_tokens", "max_completion_tokens"]


def connection_refused(exc: BaseException) -> bool:
    """Did the connection fail to open (refused, unreachable host), whatever the HTTP layer called it?

    The aiohttp transport reports a refused connection as a connect *time-out*; its cause says what happened.
    """
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ConnectionError) or type(seen).__name__ == "ClientConnectorError":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_openai_proper(base_url: str | None) -> bool:
    if not base_url:
        return True
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "api.openai.com" or host.endswith(".api.openai.com")


class _BoundedAioHttpClient(openai.DefaultAioHttpClient):
    """The SDK's aiohttp client with every answer capped (:mod:`bot.ai.bounded_http`)."""

    def __init__(self, *, response_limit: int, **options: Any) -> None:
        self._response_limit = response_limit
        super().__init__(**options)

    def _init_transport(self, *args: Any, **kwargs: Any) -> Any:
        return BoundedTransport(super()._init_transport(*args, **kwargs), self._response_limit)

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> Any:
        return BoundedTransport(super()._init_proxy_transport(*args, **kwargs), self._response_limit)


def _http_client(settings: Settings, response_limit: int) -> openai.DefaultAioHttpClient:
    """The client's HTTP layer: aiohttp, with a connection pool sized for every channel calling at once.

    httpx's own pool re-scans every connection for each request it places, which costs more CPU than
    the requests themselves once hundreds are in flight; aiohttp's connector does not.
    """
    from openai._constants import DEFAULT_CONNECTION_LIMITS

    size = settings.model_connections
    limits = type(DEFAULT_CONNECTION_LIMITS)(max_connections=size, max_keepalive_connections=size)
    return _BoundedAioHttpClient(response_limit=response_limit, limits=limits, timeout=settings.model_timeout)


def make_client(settings: Settings, *, response_limit: int = GAME_RESPONSE_LIMIT) -> openai.AsyncOpenAI | None:
    """The async client for ``settings.resolved_provider``, or None when models are off.

    Every answer it reads is capped at ``response_limit`` bytes once decompressed.
    """
    provider = settings.resolved_provider
    if provider == "none":
        return None
    if provider == "azure":
        if not settings.azure_endpoint:
            raise ConfigError("Setting AZURE_OPENAI_ENDPOINT is missing: the Azure provider needs it")
        if settings.azure_api_key is None:
            raise ConfigError("Setting AZURE_OPENAI_API_KEY is missing: the Azure provider needs it")
        try:
            return openai.AsyncAzureOpenAI(
                azure_endpoint=settings.azure_endpoint,
                api_key=settings.azure_api_key.get_secret_value(),
                api_version=settings.azure_api_version,
                timeout=settings.model_timeout,
                max_retries=0,
                http_client=_http_client(settings, response_limit),
            )
        except openai.OpenAIError as exc:
            raise ConfigError(f"Setting AZURE_OPENAI_ENDPOINT is unusable: {exc}") from None
    if settings.openai_api_key is not None:
        key = settings.openai_api_key.get_secret_value()
    elif settings.openai_base_url:
        key = LOCAL_KEY
    else:
        raise ConfigError("Setting OPENAI_API_KEY is missing: the OpenAI provider needs it or OPENAI_BASE_URL")
    try:
        return openai.AsyncOpenAI(
            api_key=key,
            base_url=settings.openai_base_url,
            timeout=settings.model_timeout,
            max_retries=0,
            http_client=_http_client(settings, response_limit),
        )
    except openai.OpenAIError as exc:
        raise ConfigError(f"Setting OPENAI_BASE_URL is unusable: {exc}") from None


def max_tokens_param(settings: Settings) -> TokensParam:
    """The name under which the reply length cap is sent.

    OpenAI and Azure want ``max_completion_tokens`` (reasoning models reject
    ``max_tokens``); most self-hosted servers only know ``max_tokens``.
    """
    if settings.max_tokens_param != "auto":
        return settings.max_tokens_param
    if settings.resolved_provider == "azure" or _is_openai_proper(settings.openai_base_url):
        return "max_completion_tokens"
    return "max_tokens"
