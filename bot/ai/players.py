"""The AI players: a vision model guesses drawings, a text model translates dialect.

Every call goes through :meth:`ModelGateway.complete`, which the evaluation code
uses too, and every request is built by :func:`drawing_messages` or
:func:`dialect_messages`, which the fine-tuning code uses to write training
data: a fine-tuned model only does well on the prompt it was trained with.

The gateway holds no lock: many calls run at once and a slow model for one
space never holds up another. Transient failures (429, 5xx, time-outs, lost
connections) are retried here with capped, jittered backoff; a model that is
missing or retired is replaced by the game's fallback model once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
import math
import random
import re
import time
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal

import openai
from openai.types.chat import ChatCompletion

from bot.ai.bounded_http import ResponseTooLarge, too_large
from bot.ai.client import TokensParam, connection_refused, max_tokens_param
from bot.ai.costs import cost_usd, price_for
from bot.ai.image_tokens import image_tokens
from bot.config import Game, ModelSettings, Settings
from bot.i18n import text as i18n_text
from bot.safety import neutralise

if TYPE_CHECKING:
    from bot.ai.images import NormalisedImage

log = logging.getLogger(__name__)

ANSWER_LIMIT = 200
CHARS_PER_TOKEN = 3  # rough, errs high for Korean; only used when a server reports no usage
_RETRY_STATUS = frozenset({408, 409, 429})
_MISSING_CODES = frozenset({"model_not_found", "deploymentnotfound", "model_deprecated", "model_retired"})
_MISSING_TEXT = re.compile(
    r"model.*(does not exist|not found|not exist|deprecated|shut ?down|decommissioned|retired"
    r"|no longer (available|supported))|deployment.*(does not exist|not found)",
    re.IGNORECASE | re.DOTALL,
)

Reason = Literal["no_model", "failed", "retired"]


# --- request builders shared with fine-tuning ---------------------------------------------


def drawing_messages(settings: Settings, data_url: str) -> list[dict[str, Any]]:
    """The chat messages that ask for a guess of the drawing at ``data_url``."""
    return [
        {"role": "system", "content": settings.drawing_system_prompt},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": settings.drawing_user_prompt},
                {"type": "image_url", "image_url": {"url": data_url, "detail": settings.image_detail}},
            ],
        },
    ]


def dialect_messages(settings: Settings, text: str) -> list[dict[str, Any]]:
    """The chat messages that ask for the standard-Korean form of ``text``."""
    return [
        {"role": "system", "content": settings.dialect_system_prompt},
        {"role": "user", "content": text},
    ]


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    text: str  # trimmed, cut to ANSWER_LIMIT and neutralised: safe to echo
    model: str  # the model that answered (the fallback when the wanted one is retired)
    prompt_tokens: int
    completion_tokens: int
    image_tokens: int
    cost_usd: float
    cost_estimated: bool
    retired_model: str | None = None  # the wanted model, when it was missing and the fallback answered
    latency_ms: int = 0  # wall time of the whole call, retries included
    attempts: int = 1  # HTTP requests made for this answer


class AIUnavailable(Exception):
    """No answer: no model configured, the provider kept failing, or model and fallback are gone."""

    def __init__(
        self,
        reason: Reason,
        *,
        game: Game | None = None,
        model: str | None = None,
        fallback: str | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason
        self.game = game
        self.model = model
        self.fallback = fallback
        self.detail = detail

    def message(self, locale: str = "en") -> str:
        """One sentence for an admin or the terminal, in ``locale``, naming the models.

        Players in a channel get ``ai.unavailable_<reason>``, which names nothing.
        """
        if self.reason == "retired":
            return i18n_text(locale, "ai.retired_both", model=self.model or "?", fallback=self.fallback or "?")
        return i18n_text(locale, f"ai.unavailable_{self.reason}")


@dataclass(slots=True)
class GatewayStats:
    """Running counts, for logs and the admin status command."""

    calls: int = 0
    answered: int = 0
    requests: int = 0
    retries: int = 0
    failed: int = 0
    fallbacks: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class _ModelMissing(Exception):
    def __init__(self, model: str, detail: str, attempts: int = 0) -> None:
        super().__init__(detail)
        self.model = model
        self.detail = detail
        self.attempts = attempts


# --- helpers ---------------------------------------------------------------------------------


def _error_detail(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "Request timed out."
    if isinstance(exc, openai.APIStatusError):
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else None
        return f"HTTP {exc.status_code}: {message or exc.message}"[:200]
    return (str(exc) or type(exc).__name__)[:200]


def _is_missing_model(exc: openai.APIStatusError) -> bool:
    if isinstance(exc, openai.NotFoundError) or exc.status_code == 410:
        return True
    if exc.status_code not in (400, 403, 422):
        return False
    if (exc.code or "").lower() in _MISSING_CODES:
        return True
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    return bool(_MISSING_TEXT.search(str(message or exc.message)))


def _tokens_param_swap(exc: openai.APIStatusError, kwargs: dict[str, Any]) -> tuple[TokensParam, TokensParam] | None:
    """``(sent, other)`` length-cap names, when a 400 says the one we sent is not supported."""
    if exc.status_code != 400:
        return None
    sent: TokensParam = "max_tokens" if "max_tokens" in kwargs else "max_completion_tokens"
    other: TokensParam = "max_completion_tokens" if sent == "max_tokens" else "max_tokens"
    body = exc.body
    message = str((body.get("message") if isinstance(body, dict) else None) or exc.message)
    if exc.param == sent or (f"'{sent}'" in message and other in message):
        return sent, other
    return None


def _retryable(exc: openai.APIStatusError) -> bool:
    should = exc.response.headers.get("x-should-retry")
    if should == "false":
        return False
    return exc.status_code in _RETRY_STATUS or exc.status_code >= 500 or should == "true"


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait, if it said so."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(raw).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError, IndexError):
        return None


def _image_parts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            parts.extend(p["image_url"] for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    return parts


def _text_chars(messages: list[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(p.get("text", "")) for p in content if isinstance(p, dict))
    return total


def _data_url_size(url: str) -> tuple[int, int] | None:
    """Width and height of a ``data:image/...;base64,`` URL (reads the header only)."""
    from PIL import Image, UnidentifiedImageError

    head, _, payload = url.partition(",")
    if not head.startswith("data:") or ";base64" not in head:
        return None
    try:
        with Image.open(io.BytesIO(base64.b64decode(payload, validate=False))) as img:
            return img.size
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        return None


def _estimate_tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


# --- the gateway -----------------------------------------------------------------------------


class ModelGateway:
    """Calls the configured models; one instance serves every space at once."""

    def __init__(
        self,
        settings: Settings,
        client: openai.AsyncOpenAI | None,
        *,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 8.0,
        retired_ttl: float = 600.0,
    ) -> None:
        self._settings = settings
        self._client = client
        self._base_delay = retry_base_delay
        self._max_delay = retry_max_delay
        self._retired_ttl = retired_ttl
        # model id -> monotonic time it was seen missing: skip the doomed request for a while
        self._retired: dict[str, float] = {}
        self._tokens_param = max_tokens_param(settings)
        self.stats = GatewayStats()

    @property
    def enabled(self) -> bool:
        return self._client is not None

    @property
    def settings(self) -> Settings:
        return self._settings

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def guess_drawing(self, image: NormalisedImage, *, model: str | None = None) -> ModelAnswer:
        messages = drawing_messages(self._settings, image.data_url())
        return await self.complete("drawing", messages, model=model, image_size=(image.width, image.height))

    async def translate_dialect(self, text: str, *, model: str | None = None) -> ModelAnswer:
        return await self.complete("dialect", dialect_messages(self._settings, text), model=model)

    async def complete(
        self,
        game: Game,
        messages: list[dict[str, Any]],
        *,
        model: str | None = None,
        image_size: tuple[int, int] | None = None,
    ) -> ModelAnswer:
        """Ask ``model`` (default: the game's model) and return its cleaned, costed answer.

        ``image_size`` saves decoding the image header when the caller knows it.
        Raises :class:`AIUnavailable`.
        """
        cfg = self._settings.model_config_for(game)
        wanted = (model or cfg.model or "").strip()
        if self._client is None or not wanted:
            raise AIUnavailable("no_model", game=game, model=wanted or None)
        self.stats.calls += 1
        started = time.perf_counter()
        fallback = (cfg.fallback or "").strip()
        used, retired = wanted, None
        attempts = 0
        try:
            if self._recently_retired(wanted) and fallback and fallback != wanted:
                raise _ModelMissing(wanted, "seen missing recently")
            response, attempts = await self._call(game, cfg, wanted, messages)
        except _ModelMissing as missing:
            attempts = missing.attempts
            self._retired[wanted] = time.monotonic()
            if not fallback or fallback == wanted:
                self.stats.failed += 1
                raise AIUnavailable(
                    "retired", game=game, model=wanted, fallback=fallback or None, detail=missing.detail
                ) from None
            log.warning("model %s missing or retired (%s); asking %s", wanted, missing.detail, fallback)
            self.stats.fallbacks += 1
            try:
                response, more = await self._call(game, cfg, fallback, messages)
            except _ModelMissing as also:
                self._retired[fallback] = time.monotonic()
                self.stats.failed += 1
                raise AIUnavailable("retired", game=game, model=wanted, fallback=fallback, detail=also.detail) from None
            attempts += more
            used, retired = fallback, wanted
        answer = await self._answer(response, messages, used, image_size, cfg.max_tokens)
        self.stats.answered += 1
        return replace(
            answer,
            model=used,
            retired_model=retired,
            latency_ms=int((time.perf_counter() - started) * 1000),
            attempts=max(attempts, 1),
        )

    # --- internals -------------------------------------------------------------------------

    def _recently_retired(self, model: str) -> bool:
        seen = self._retired.get(model)
        if seen is None:
            return False
        if time.monotonic() - seen > self._retired_ttl:
            del self._retired[model]
            return False
        return True

    def _delay(self, attempt: int, exc: BaseException) -> float:
        asked = _retry_after(exc)
        if asked is not None:
            return min(asked, self._max_delay)
        step = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
        return step / 2 + random.uniform(0, step / 2)  # jitter spreads a burst of retries

    async def _call(
        self, game: Game, cfg: ModelSettings, model: str, messages: list[dict[str, Any]]
    ) -> tuple[Any, int]:
        """One model, with retries. Returns (response, requests made)."""
        assert self._client is not None
        kwargs: dict[str, Any] = {"model": model, "messages": messages, self._tokens_param: cfg.max_tokens}
        if cfg.temperature is not None:
            kwargs["temperature"] = cfg.temperature
        if cfg.top_p is not None:
            kwargs["top_p"] = cfg.top_p
        retries = self._settings.model_retries
        hard_limit = self._settings.model_timeout * 1.5
        attempt = 0
        swapped = False
        while True:
            attempt += 1
            self.stats.requests += 1
            try:
                # The SDK's timeout bounds each phase (connect, each read); a server that
                # drips bytes could stretch a call far beyond it, so cap the whole request too.
                async with asyncio.timeout(hard_limit):
                    response = await self._client.chat.completions.create(**kwargs)
                if not isinstance(response, ChatCompletion):
                    # A body that is not JSON (an HTML error page with status 200): the SDK hands it over as is.
                    self.stats.failed += 1
                    detail = f"the server's answer is not a chat completion ({type(response).__name__})"
                    raise AIUnavailable("failed", game=game, model=model, detail=detail)
                return response, attempt
            except openai.APIStatusError as exc:
                key = str(exc.status_code)
                self.stats.by_status[key] = self.stats.by_status.get(key, 0) + 1
                if _is_missing_model(exc):
                    raise _ModelMissing(model, _error_detail(exc), attempt) from exc
                swap = None if swapped else _tokens_param_swap(exc, kwargs)
                if swap is not None:
                    # The server wants the other name for the length cap (OpenAI's reasoning
                    # models refuse max_tokens): switch for good and ask again at once.
                    sent, other = swap
                    log.warning("%s rejects %s; sending %s from now on", model, sent, other)
                    kwargs[other] = kwargs.pop(sent)
                    self._tokens_param = other
                    swapped = True
                    continue
                if not _retryable(exc):
                    self.stats.failed += 1
                    raise AIUnavailable("failed", game=game, model=model, detail=_error_detail(exc)) from exc
                last: BaseException = exc
            except (openai.APIConnectionError, ResponseTooLarge) as exc:  # time-outs included
                if (flood := too_large(exc)) is not None:  # asking again would read the same flood
                    self.stats.failed += 1
                    raise AIUnavailable("failed", game=game, model=model, detail=str(flood)) from exc
                key = (
                    "timeout"
                    if isinstance(exc, openai.APITimeoutError) and not connection_refused(exc)
                    else "connection"
                )
                self.stats.by_status[key] = self.stats.by_status.get(key, 0) + 1
                last = exc
            except TimeoutError as exc:
                self.stats.by_status["timeout"] = self.stats.by_status.get("timeout", 0) + 1
                last = exc
            except openai.OpenAIError as exc:  # e.g. a reply the SDK cannot parse
                self.stats.failed += 1
                raise AIUnavailable("failed", game=game, model=model, detail=_error_detail(exc)) from exc
            if attempt > retries:
                self.stats.failed += 1
                raise AIUnavailable(
                    "failed",
                    game=game,
                    model=model,
                    detail=f"{_error_detail(last).rstrip('.')}; tries: {attempt}",
                ) from last
            self.stats.retries += 1
            delay = self._delay(attempt, last)
            log.info("%s: %s; retry %d/%d in %.2fs", model, _error_detail(last), attempt, retries, delay)
            await asyncio.sleep(delay)

    async def _answer(
        self,
        response: Any,
        messages: list[dict[str, Any]],
        model: str,
        image_size: tuple[int, int] | None,
        max_tokens: int,
    ) -> ModelAnswer:
        choices = getattr(response, "choices", None) or []
        message = getattr(choices[0], "message", None) if choices else None
        content = getattr(message, "content", None)
        raw = content if isinstance(content, str) else ""
        clean = neutralise(raw.strip(), limit=ANSWER_LIMIT)  # neutralise cuts a huge answer before cleaning it

        img_tokens = await self._image_tokens(messages, model, image_size)
        usage = getattr(response, "usage", None)
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        usage_known = isinstance(prompt, int) and isinstance(completion, int)
        if not usage_known:
            # Some local servers report nothing: guess, and say it is a guess.
            prompt = _estimate_tokens(_text_chars(messages)) + img_tokens
            # The server was asked for at most max_tokens: a longer answer is not billed past it.
            completion = min(_estimate_tokens(len(raw)), max_tokens)
        assert isinstance(prompt, int) and isinstance(completion, int)

        usd, estimated = cost_usd(self._settings, model, prompt, completion)
        served = getattr(response, "model", None)
        if estimated and isinstance(served, str) and served and served != model:
            # Azure deployment names are not model ids; the reply names the real model.
            _, served_estimated = price_for(self._settings, served)
            if not served_estimated:
                usd, estimated = cost_usd(self._settings, served, prompt, completion)
        # With server usage the image is already inside prompt_tokens (OpenAI counts it
        # there), so the image count only moves the cost when we guess the usage ourselves,
        # and then the whole figure is a guess anyway.
        estimated = estimated or not usage_known
        return ModelAnswer(
            text=clean,
            model=model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            image_tokens=img_tokens,
            cost_usd=usd,
            cost_estimated=estimated,
        )

    async def _image_tokens(
        self, messages: list[dict[str, Any]], model: str, image_size: tuple[int, int] | None
    ) -> int:
        """Input tokens of the images in ``messages`` by the published formulas.

        Reported for information: a server's usage already counts them in prompt_tokens.
        """
        total = 0
        for index, part in enumerate(_image_parts(messages)):
            size = image_size if (index == 0 and image_size is not None) else None
            if size is None:
                url = part.get("url", "") if isinstance(part, dict) else ""
                size = await asyncio.to_thread(_data_url_size, url) if url.startswith("data:") else None
            if size is None:
                continue
            detail = part.get("detail") or self._settings.image_detail
            try:
                total += image_tokens(model, size[0], size[1], detail)[0]
            except ValueError:  # an odd "detail" in hand-made messages: count nothing
                continue
        return total
