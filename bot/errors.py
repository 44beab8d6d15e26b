"""Errors that carry one sentence meant for the user."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Bad input the user can fix.

    It names a message key (see :mod:`bot.i18n`) so the sentence can be shown in
    the space's language; ``str(exc)`` gives the English sentence for CLIs and logs.
    """

    def __init__(self, key: str, /, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def message(self, locale: str = "en") -> str:
        from bot.i18n import text

        return text(locale, self.key, **self.params)

    def __str__(self) -> str:
        return self.message("en")


class RefusedImage(UserError):
    """An upload that is not an image we accept (wrong type, too big, broken, a bomb)."""


class AdminOnly(UserError):
    """A member who is not an admin tried to change something: told privately, not in front of the channel."""

    def __init__(self) -> None:
        super().__init__("core.admin_only")
