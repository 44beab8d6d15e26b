"""Who a Slack user is: display name, admin or owner, language; from users.info, cached briefly."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("catchbot.slack")

CACHE_SECONDS = 300.0  # an admin removed in Slack loses admin rights here within five minutes
CACHE_MAX = 20_000


@dataclass(frozen=True, slots=True)
class SlackUser:
    name: str
    is_admin: bool
    locale: str | None


class Users:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._cache: dict[str, tuple[float, SlackUser]] = {}

    async def get(self, user_id: str, fallback_name: str | None = None) -> SlackUser:
        now = time.monotonic()
        cached = self._cache.get(user_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id, include_locale=True)
            info = response.get("user") or {}
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            # Not known: never an admin; the name the event carried, if any.
            return SlackUser(fallback_name or user_id, False, None)
        profile = info.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or info.get("name") or fallback_name or user_id
        user = SlackUser(
            name=str(name)[:80],
            is_admin=bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner")),
            locale=info.get("locale"),
        )
        if len(self._cache) > CACHE_MAX:
            self._cache.clear()
        self._cache[user_id] = (now, user)
        return user
