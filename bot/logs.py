"""Logging for the command line and the bot: quiet by default, more with ``-v`` or ``CATCHBOT_LOG_LEVEL``.

By default only warnings and errors reach stderr, plus our own one-line status
(the ``catchbot.status`` logger: "catchbot on ./catchbot.db; models: none").
Library chatter (``httpx`` request lines, the model client's retry notes) is
INFO and stays out of game and command output unless asked for: ``-v`` shows
INFO, ``-vv`` DEBUG, and ``CATCHBOT_LOG_LEVEL`` sets the level when no ``-v`` is given.
"""

from __future__ import annotations

import logging
import sys

STATUS = "catchbot.status"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class _Formatter(logging.Formatter):
    def __init__(self, verbose: bool) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "%(levelname)s %(name)s: %(message)s"
        )
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        if record.name == STATUS and not self.verbose:
            return record.getMessage()
        return super().format(record)


def level_for(verbosity: int, level_name: str | None) -> int:
    """``-v`` beats the setting; the setting beats the quiet default (WARNING)."""
    if verbosity >= 2:
        return logging.DEBUG
    if verbosity == 1:
        return logging.INFO
    if level_name and level_name.upper() in LEVELS:
        return logging.getLevelName(level_name.upper())
    return logging.WARNING


def configure(verbosity: int = 0, level_name: str | None = None) -> int:
    """(Re)configure the root logger on stderr; returns the level chosen."""
    level = level_for(verbosity, level_name)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(verbose=level < logging.WARNING))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our status line shows at the default level; ERROR means "errors only".
    logging.getLogger(STATUS).setLevel(logging.INFO if level <= logging.WARNING else level)
    return level
