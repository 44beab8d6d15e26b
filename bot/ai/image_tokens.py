"""How many input tokens an image costs on OpenAI vision models.

Source: OpenAI API docs, "Images and vision" guide, section "Calculating costs"
(https://platform.openai.com/docs/guides/images-vision#calculating-costs, formerly
/docs/guides/vision#calculating-costs), as published in 2025. It describes two schemes:

* Tile based (GPT-4o, GPT-4.1, GPT-4.5, GPT-5, o1, o3, computer-use-preview):
  ``detail="low"`` costs the model's base tokens whatever the size. ``detail="high"``:
  scale to fit inside 2048x2048, then scale so the shortest side is 768 px (both only
  ever shrink), count the 512 px tiles that cover it; tokens = base + tiles * per-tile.
  Worked examples from the guide: gpt-4o 1024x1024 high = 85 + 4*170 = 765;
  2048x4096 high = 85 + 6*170 = 1105; any size low = 85.
* Patch based (gpt-4.1-mini, gpt-4.1-nano, o4-mini, gpt-5-mini, gpt-5-nano): count
  32x32 px patches; when more than 1536 are needed, shrink by
  ``sqrt(32**2 * 1536 / (w * h))``, then a little more so the width or height is a whole
  number of patches, and count again (capped at 1536); multiply by the model's factor.
  Worked examples: 1024x1024 = 32*32 = 1024 patches; 1800x2400 = 33*44 = 1452 patches.
  ``detail`` does not apply.

Deviations and guesses, all marked ``exact=False``: ``detail="auto"`` (the model picks;
we assume high, the upper bound, except for images that fit in 512x512, which we count
as low), models the guide does not list (gpt-6 family: sol is costed as gpt-5's tile row,
luna/terra as patches x 1.0), and unknown ids (gpt-4o high-detail tiles, an upper
estimate for most models). Community measurements (2025) suggest gpt-5-mini/nano bill
less than the documented 1.62/2.46; we keep the published figures.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

TILE_SIZE = 512
FIT_BOX = 2048
SHORT_SIDE = 768
PATCH_SIZE = 32
PATCH_BUDGET = 1536
LOW_DETAIL_MAX_SIDE = 512  # "auto" on an image this small is assumed to stay low detail

Detail = Literal["low", "high", "auto"]


@dataclass(frozen=True, slots=True)
class _Tiles:
    base: int
    per_tile: int
    exact: bool = True


@dataclass(frozen=True, slots=True)
class _Patches:
    multiplier: float
    exact: bool = True


_Formula = _Tiles | _Patches

# Model id prefixes, matched as a whole word at the start of the id (``gpt-4o`` matches
# ``gpt-4o-2024-08-06`` but not ``gpt-4o-mini``: the longer prefix wins). Dated snapshots
# ("-2024-08-06") and suffixes such as "-chat-latest" share their family's row.
_TABLE: dict[str, _Formula] = {
    # tile based, from the guide's table
    "gpt-5": _Tiles(70, 140),
    "gpt-4o": _Tiles(85, 170),
    "chatgpt-4o": _Tiles(85, 170),
    "gpt-4.1": _Tiles(85, 170),
    "gpt-4.5": _Tiles(85, 170),
    "gpt-4-turbo": _Tiles(85, 170),
    "gpt-4-vision": _Tiles(85, 170),
    "gpt-4o-mini": _Tiles(2833, 5667),
    "o1": _Tiles(75, 150),
    "o1-pro": _Tiles(75, 150),
    "o3": _Tiles(75, 150),
    "computer-use-preview": _Tiles(65, 129),
    # patch based, from the guide's multiplier table
    "gpt-4.1-mini": _Patches(1.62),
    "gpt-4.1-nano": _Patches(2.46),
    "o4-mini": _Patches(1.72),
    "gpt-5-mini": _Patches(1.62),
    "gpt-5-nano": _Patches(2.46),
}

# Families the guide does not cover (yet): the scheme is known, the figures are not.
_FAMILIES: tuple[tuple[re.Pattern[str], _Formula], ...] = (
    (re.compile(r"gpt-6(?:\.\d+)?-sol(?:-|$)"), _Tiles(70, 140, exact=False)),
    (re.compile(r"gpt-6(?:\.\d+)?-(?:luna|terra)(?:-|$)"), _Patches(1.0, exact=False)),
)

_UNKNOWN = _Tiles(85, 170, exact=False)


def base_model(model: str) -> str:
    """The model id a fine-tune or a routed id stands for.

    ``ft:gpt-4o-2024-08-06:org:name:id`` -> ``gpt-4o-2024-08-06``;
    ``openai/gpt-4o`` (OpenAI-compatible routers) -> ``gpt-4o``.
    """
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    return name.rsplit("/", 1)[-1]


def _formula(model: str) -> _Formula:
    name = base_model(model)
    best: str | None = None
    for prefix in _TABLE:
        if (name == prefix or name.startswith(prefix + "-")) and (best is None or len(prefix) > len(best)):
            best = prefix
    if best is not None:
        return _TABLE[best]
    for pattern, formula in _FAMILIES:
        if pattern.match(name):
            return formula
    return _UNKNOWN


def tile_count(width: int, height: int) -> int:
    """512 px tiles covering the image after the high-detail resizing."""
    w, h = float(width), float(height)
    if max(w, h) > FIT_BOX:
        scale = FIT_BOX / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > SHORT_SIDE:
        scale = SHORT_SIDE / min(w, h)
        w, h = w * scale, h * scale
    # Real resizing produces whole pixels; rounding first keeps 768x1536.0000001 at 6 tiles.
    return math.ceil(round(w) / TILE_SIZE) * math.ceil(round(h) / TILE_SIZE)


def patch_count(width: int, height: int) -> int:
    """32 px patches after shrinking the image to the 1536-patch budget."""

    def cover(w: float, h: float) -> int:
        return math.ceil(w / PATCH_SIZE) * math.ceil(h / PATCH_SIZE)

    patches = cover(width, height)
    if patches <= PATCH_BUDGET:
        return patches
    shrink = math.sqrt(PATCH_SIZE**2 * PATCH_BUDGET / (width * height))
    w_patches, h_patches = width * shrink / PATCH_SIZE, height * shrink / PATCH_SIZE
    shrink *= min(math.floor(w_patches) / w_patches, math.floor(h_patches) / h_patches)
    # The tiny epsilon stops 1055.9999999 (float noise for 33 whole patches) from
    # flooring to 1055; it cannot move a real pixel boundary.
    w = max(1, math.floor(width * shrink + 1e-6))
    h = max(1, math.floor(height * shrink + 1e-6))
    return min(cover(w, h), PATCH_BUDGET)


def image_tokens(model: str, width: int, height: int, detail: str) -> tuple[int, bool]:
    """Input tokens for one ``width`` x ``height`` image sent to ``model``, and whether
    the figure follows a published formula exactly (False = our estimate)."""
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if detail not in ("low", "high", "auto"):
        raise ValueError(f"detail must be 'low', 'high' or 'auto', got {detail!r}")
    formula = _formula(model)
    if isinstance(formula, _Patches):
        # round() first: 1000 * 1.62 is 1620.0000000000002 in floats, not 1621 tokens.
        tokens = math.ceil(round(patch_count(width, height) * formula.multiplier, 6))
        return tokens, formula.exact
    if formula is _UNKNOWN:
        # An unknown server may ignore ``detail`` entirely: assume the dearer reading.
        return formula.base + formula.per_tile * tile_count(width, height), False
    exact = formula.exact and detail != "auto"
    if detail == "low" or (detail == "auto" and max(width, height) <= LOW_DETAIL_MAX_SIDE):
        return formula.base, exact
    return formula.base + formula.per_tile * tile_count(width, height), exact
