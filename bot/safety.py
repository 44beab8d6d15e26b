"""Make untrusted text (player input, model output) safe to echo into a channel.

Adapters also switch off mass mentions on their clients; this is the second
belt: the text itself can no longer ping anybody on Discord or Slack.
"""

from __future__ import annotations

import re
import unicodedata

ZWSP = "\u200b"
# Discord: @everyone, @here, <@123>, <@!123>, <@&role>, <#channel>;
# Slack: <!channel>, <!here>, <!everyone>, <!subteam^ID>, <@U123>, <#C123>.
_MASS = re.compile(r"@(everyone|here|channel)", re.IGNORECASE)
_ANGLE = re.compile(r"<([@#!])")
_CONTROL = {"Cc", "Cf"}
_KEPT = frozenset({"\n", "\t", ZWSP})


def neutralise(text: str, limit: int = 300) -> str:
    """Strip control characters, cut to ``limit`` characters, and defuse every mention."""
    # Cut before cleaning: a megabyte of model output costs no more than what can be shown. Cleaning
    # only shrinks text (runs of spaces collapse); four times the limit leaves room for that.
    text = text[: max(limit * 4, 64)]
    # The zero-width space is what defuses a mention: kept, so text neutralised twice stays as it was.
    cleaned = "".join(ch if ch in _KEPT or unicodedata.category(ch) not in _CONTROL else " " for ch in text)
    cleaned = " ".join(cleaned.split()) if "\n" not in cleaned else cleaned.strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    cleaned = _MASS.sub(lambda m: "@" + ZWSP + m.group(1), cleaned)
    return _ANGLE.sub(lambda m: "<" + ZWSP + m.group(1), cleaned)
