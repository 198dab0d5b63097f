"""The store's channels as the dashboard's pickers show them: id, slug, name and currency.

Asked of Saleor with the app's token (``graphql/operations/channels.graphql``) and cached a few minutes per store,
so opening a form does not ask the store every time; Saleor's errors propagate (``SaleorError``): the caller shows
the form without its picker.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from saleor_loyalty.installs.models import Install

from .client import SaleorClient, SaleorError

logger = logging.getLogger(__name__)
CHANNELS_TTL = 300  # seconds: a channel added in Saleor shows within five minutes


@dataclass(frozen=True)
class StoreChannel:
    id: str
    slug: str
    name: str
    currency: str
    is_active: bool


def store_channels(install: Install) -> list[StoreChannel]:
    """Every channel of the store, active first, by name."""
    key = f"loyalty:channels:{install.pk}"
    cached: list[StoreChannel] | None = cache.get(key)
    if cached is not None:
        return cached
    data = SaleorClient(install.saleor_api_url, install.auth_token).execute("channels")
    listed: Any = data.get("channels") or []
    channels = [
        StoreChannel(
            id=str(row["id"]),
            slug=str(row.get("slug") or ""),
            name=str(row.get("name") or row.get("slug") or ""),
            currency=str(row.get("currencyCode") or ""),
            is_active=bool(row.get("isActive")),
        )
        for row in listed
        if isinstance(row, dict) and row.get("id")
    ]
    channels.sort(key=lambda channel: (not channel.is_active, channel.name.lower()))
    cache.set(key, channels, CHANNELS_TTL)
    return channels


def channel_names(install: Install) -> dict[str, str]:
    """The store's channel names by id, for display; a store that cannot be asked now leaves them unknown (logged),
    never the page that shows them unreadable."""
    try:
        return {channel.id: channel.name for channel in store_channels(install)}
    except SaleorError as exc:
        logger.warning("could not read the store's channels: %s", exc)
        return {}
