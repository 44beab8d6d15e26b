"""One-sentence errors for the fine-tuning commands, and the translation of provider failures.

These commands are CLI-only tools whose output is English, so :class:`FinetuneError`
carries its sentence directly instead of a locale key; it is still a
:class:`bot.errors.UserError`, so anything that catches user errors prints it the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import openai

from bot.ai.client import connection_refused
from bot.errors import UserError


class FinetuneError(UserError):
    """Something the user must fix or know, said in one sentence (English, CLI output)."""

    def __init__(self, sentence: str) -> None:
        super().__init__("finetune.error", sentence=sentence)
        self.sentence = sentence

    def message(self, locale: str = "en") -> str:
        return self.sentence


def provider_reason(exc: openai.APIStatusError) -> str:
    """The provider's own explanation, taken from the error body when it has one."""
    body: Any = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            for key in ("message", "detail", "error"):
                value = inner.get(key)
                if isinstance(value, str) and value.strip():
                    return value.strip()
    elif isinstance(body, str) and body.strip():
        return body.strip()[:300]
    text = str(exc.message or "").strip()
    # openai formats it as "Error code: 429 - <message>"; keep only the reason.
    if " - " in text:
        text = text.split(" - ", 1)[1]
    return text or "no reason given"


_STATUS_HINTS = {
    400: "rejected the request",
    401: "rejected the API key",
    403: "refused permission",
    404: "does not know it",
    409: "reported a conflict",
    413: "found it too large",
    422: "could not process it",
    429: "refused for quota or rate limits (check your balance and limits)",
}


def translate(exc: BaseException, action: str) -> FinetuneError:
    """Turn an ``openai`` exception met while doing ``action`` into one clear sentence."""
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        hint = _STATUS_HINTS.get(status, "failed" if status >= 500 else "refused")
        reason = provider_reason(exc).rstrip(".")
        return FinetuneError(f"Could not {action}: the provider {hint} (HTTP {status}): {reason}.")
    if isinstance(exc, openai.APITimeoutError) and not connection_refused(exc):
        return FinetuneError(f"Could not {action}: the provider did not answer in time.")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return FinetuneError(f"Could not {action}: the provider could not be reached ({cause}).")
    return FinetuneError(f"Could not {action}: {exc}.")


@contextlib.asynccontextmanager
async def provider_call(action: str) -> AsyncIterator[None]:
    """Wrap calls to the provider so that failures surface as :class:`FinetuneError`."""
    try:
        yield
    except openai.OpenAIError as exc:
        raise translate(exc, action) from exc
