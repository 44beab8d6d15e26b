"""Token counts, context limits, default epochs and training-cost estimates.

Tokens are counted with o200k_base, built from the copy shipped inside the
``bpe-openai`` package because tiktoken would otherwise download it. Nothing here
assumes a model family by name beyond lookup tables, each with a ``"*"`` row
that is used (and flagged as an estimate) for models the table does not know.
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import math
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import tiktoken

# The split pattern of o200k_base, as in tiktoken_ext.openai_public (it is not
# exported there as a constant, and calling its constructor would download).
O200K_PAT_STR = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
RANKS_FILE = "o200k_base.tiktoken.gz"
O200K_SPECIAL_TOKENS = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}

# Chat formatting overhead, as in OpenAI's data-preparation cookbook: each message
# costs a few tokens around its content, and every reply is primed with a few more.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMING = 3

# Training context per base-model family (longest matching prefix wins). Examples
# longer than this are truncated by the provider, so they waste money and teach less.
CONTEXT_LIMITS: dict[str, int] = {
    "gpt-3.5-turbo": 16_385,
    "gpt-4o-mini": 65_536,
    "gpt-4o": 65_536,
    "gpt-4.1": 65_536,
    "*": 65_536,
}

# OpenAI's documented default-epoch heuristic (data-preparation cookbook): aim for
# 3 epochs, but keep the number of example passes between 100 and 25,000.
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

_lock = threading.Lock()
_encoding: tiktoken.Encoding | None = None


def encoding() -> tiktoken.Encoding:
    """The o200k_base encoding, built once from the bundled ranks file."""
    global _encoding
    with _lock:
        if _encoding is None:
            raw = gzip.decompress(_bundled_ranks())
            ranks: dict[bytes, int] = {}
            for line in raw.splitlines():
                if line:
                    token, rank = line.split()
                    ranks[base64.b64decode(token)] = int(rank)
            _encoding = tiktoken.Encoding(
                name="o200k_base",
                pat_str=O200K_PAT_STR,
                mergeable_ranks=ranks,
                special_tokens=O200K_SPECIAL_TOKENS,
            )
        return _encoding


def _bundled_ranks() -> bytes:
    """The gzipped o200k_base ranks shipped inside the ``bpe-openai`` package.

    Found through the import system without importing ``bpe_openai`` itself: its
    ``__init__`` builds a cl100k encoding (a second of work we do not need) through
    a deprecated importlib call that warns.
    """
    spec = importlib.util.find_spec("bpe_openai")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(folder) / "data" / RANKS_FILE
        if candidate.is_file():
            return candidate.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return resources.files("bpe_openai.data").joinpath(RANKS_FILE).read_bytes()


def count_text(text: str) -> int:
    # disallowed_special=() so text that merely looks like a special token is counted as text.
    return len(encoding().encode(text, disallowed_special=()))


def base_of(model: str) -> str:
    """The base model of a fine-tune id (``ft:gpt-4o-mini-2024-07-18:org::abc`` → ``gpt-4o-mini-…``)."""
    from bot.ai.image_tokens import base_model

    return base_model(model)


def lookup(table: Mapping[str, float], model: str | None) -> tuple[str, float]:
    """The row for ``model`` by longest matching prefix, else ``"*"``; returns (row key, value)."""
    if model:
        name = base_of(model)
        matches = [key for key in table if key != "*" and name.startswith(key)]
        if matches:
            key = max(matches, key=len)
            return key, table[key]
    return "*", table["*"]


def context_limit(model: str | None) -> tuple[int, bool]:
    """(training context in tokens, exact) — exact is False when the fallback row was used."""
    key, value = lookup(CONTEXT_LIMITS, model)
    return int(value), key != "*"


def default_epochs(n_examples: int) -> int:
    """The number of epochs a provider following OpenAI's heuristic picks for ``n_examples``."""
    if n_examples <= 0:
        return TARGET_EPOCHS
    epochs = TARGET_EPOCHS
    if n_examples * epochs < MIN_TARGET_EXAMPLES:
        epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    elif n_examples * epochs > MAX_TARGET_EXAMPLES:
        epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return epochs


@dataclass(frozen=True, slots=True)
class CostEstimate:
    tokens_per_epoch: int  # each example capped at the context limit
    epochs: int
    epochs_are_default: bool
    billed_tokens: int
    price_per_million: float
    price_row: str
    usd: float

    @property
    def estimated_price(self) -> bool:
        """True when the model was not in the price table and the ``"*"`` row was used."""
        return self.price_row == "*"


def training_cost(
    example_tokens: list[int],
    model: str | None,
    prices: Mapping[str, float],
    epochs: int | None = None,
) -> CostEstimate:
    """Billed training tokens (examples capped at the context, times epochs) and their price."""
    limit, _ = context_limit(model)
    per_epoch = sum(min(limit, n) for n in example_tokens)
    chosen = epochs if epochs is not None else default_epochs(len(example_tokens))
    billed = per_epoch * chosen
    row, price = lookup(prices, model)
    return CostEstimate(
        tokens_per_epoch=per_epoch,
        epochs=chosen,
        epochs_are_default=epochs is None,
        billed_tokens=billed,
        price_per_million=float(price),
        price_row=row,
        usd=billed / 1_000_000 * float(price),
    )


def percentile(sorted_values: list[int], q: float) -> float:
    """Linear-interpolated percentile of already sorted values (0 <= q <= 1)."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
