"""Which space a command-line ``--space`` means: the stored id, the platform's raw id, or the server's name.

Operators copy a Discord server id or a Slack team id from the platform; the database
keeps them namespaced (``discord:<id>``, ``slack:<team>``). A value that names exactly
one known space is that space; one that names several, or none, is refused with the
forms that would work (``catchbot db spaces`` lists them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError
from storage import Database, SpaceInfo

if TYPE_CHECKING:
    from bot.config import Settings

EVERY_SPACE = "*"
CONSOLE = "console"  # the terminal's one space: there before anybody played in it


def _matches(space: SpaceInfo, text: str) -> bool:
    raw = space.id.split(":", 1)[1] if ":" in space.id else space.id
    return text in (space.id, raw) or (space.name is not None and space.name.casefold() == text.casefold())


async def resolve_space(db: Database, text: str, *, every: bool = False) -> str:
    """The stored space id that ``text`` names (``*`` for every space when ``every`` allows it)."""
    text = text.strip()
    if (every and text == EVERY_SPACE) or text == CONSOLE:
        return text
    known = await db.spaces()
    exact = [s for s in known if s.id == text]
    found = exact or [s for s in known if _matches(s, text)]
    if len(found) == 1:
        return found[0].id
    if found:
        raise UserError("cli.space_ambiguous", space=text[:80], choices=", ".join(s.id for s in found[:5]))
    raise UserError("cli.space_unknown", space=text[:80])


async def resolve_space_in(settings: Settings, text: str, *, every: bool = False) -> str:
    """:func:`resolve_space` against the configured database (which it never creates)."""
    import storage

    if settings.database_url is None and not settings.db_path.is_file():
        if (every and text.strip() == EVERY_SPACE) or text.strip() == CONSOLE:
            return text.strip()
        raise UserError("cli.space_unknown", space=text.strip()[:80])
    db = await storage.open_database(settings)
    try:
        return await resolve_space(db, text, every=every)
    finally:
        await db.close()
