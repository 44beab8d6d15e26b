"""What a model call cost, from the price table in the settings.

Prices are USD per 1M tokens (``Settings.prices``). A model is looked up as
given first, so an admin can price a fine-tuned model or an Azure deployment
exactly by adding its id to ``CATCHBOT_PRICES``. Failing that:

- ``ft:BASE:org:suffix:id`` (and its ``:ckpt-step-N`` checkpoints) is priced as
  ``BASE``. OpenAI bills fine-tuned inference above the base model, so such a
  figure is marked as an estimate (so is a router id like ``openai/gpt-4o``);
- a dated snapshot (``gpt-4o-mini-2024-07-18``) is priced as its alias
  (``gpt-4o-mini``): same model, same price, not an estimate;
- anything else gets the ``"*"`` row, marked as an estimate.
"""

from __future__ import annotations

import re

from bot.ai.image_tokens import base_model
from bot.config import DEFAULT_PRICES, Settings

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")
PER_TOKENS = 1_000_000


def _lookup(prices: dict[str, dict[str, float]], model: str) -> dict[str, float] | None:
    row = prices.get(model)
    if row is None and _SNAPSHOT.search(model):
        row = prices.get(_SNAPSHOT.sub("", model))
    return row


def price_for(settings: Settings, model: str) -> tuple[dict[str, float], bool]:
    """``(row, estimated)``: the price row for ``model`` and whether it is a guess."""
    prices = settings.prices
    row = _lookup(prices, model)
    if row is not None:
        return row, False
    base = base_model(model)
    if base != model:
        row = _lookup(prices, base)
        if row is not None:
            return row, True
    return prices.get("*", DEFAULT_PRICES["*"]), True


def cost_usd(settings: Settings, model: str, prompt_tokens: int, completion_tokens: int) -> tuple[float, bool]:
    """``(usd, estimated)`` for one call with these token counts."""
    row, estimated = price_for(settings, model)
    usd = (max(prompt_tokens, 0) * row["input"] + max(completion_tokens, 0) * row["output"]) / PER_TOKENS
    return usd, estimated
