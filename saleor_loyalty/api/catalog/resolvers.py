"""Listing the rewards catalog and campaigns, and searching the store's products and categories for the pickers."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graphql import GraphQLError

from saleor_loyalty.program import queries as program_queries
from saleor_loyalty.program.models import Campaign
from saleor_loyalty.redemption import rewards
from saleor_loyalty.redemption.models import Reward
from saleor_loyalty.saleor import catalog, channels
from saleor_loyalty.saleor.budget import SaleorCallBudgetExceeded
from saleor_loyalty.saleor.client import SaleorError

from . import PERMISSION
from .targets import prefetch_names


def resolve_catalog_rewards(root: Any, info: Any) -> list[Reward]:
    staff = info.context.require_staff(PERMISSION)
    return rewards.catalog(staff.install)


def resolve_campaigns(root: Any, info: Any) -> list[Campaign]:
    staff = info.context.require_staff(PERMISSION)
    campaigns = program_queries.campaigns(staff.install)
    if _selects(info, {"products", "categories"}):
        prefetch_names(info, staff.install, campaigns)  # one call to the store for every row (else one per row)
    return campaigns


def _selects(info: Any, names: set[str]) -> bool:
    """Whether the query asks for any of ``names`` directly under this field (a fragment is not looked into: the
    rows then ask for their own names)."""
    for node in info.field_nodes:
        for selection in node.selection_set.selections if node.selection_set else ():
            if getattr(getattr(selection, "name", None), "value", None) in names:
                return True
    return False


@contextmanager
def _asking_the_store(failed: str) -> Iterator[None]:
    """A call to the store that fails (not the request's budget of calls, which is the API's own error) answers
    ``failed`` as a ``SALEOR_ERROR``."""
    try:
        yield
    except SaleorCallBudgetExceeded:
        raise
    except SaleorError as exc:
        raise GraphQLError(failed, extensions={"code": "SALEOR_ERROR"}) from exc


def _search(info: Any, search: str, first: int, find: Any) -> list[catalog.StoreItem]:
    staff = info.context.require_staff(PERMISSION)
    with _asking_the_store("your store could not be searched just now; try again"):
        try:
            items: list[catalog.StoreItem] = find(staff.install, search, first)
        except catalog.InvalidSearch as exc:
            raise GraphQLError(str(exc), extensions={"code": "INVALID"}) from exc
    return items


def resolve_search_products(root: Any, info: Any, search: str, first: int = 20) -> list[catalog.StoreItem]:
    return _search(info, search, first, catalog.search_products)


def resolve_search_categories(root: Any, info: Any, search: str, first: int = 20) -> list[catalog.StoreItem]:
    return _search(info, search, first, catalog.search_categories)


def resolve_store_channels(root: Any, info: Any) -> list[channels.StoreChannel]:
    staff = info.context.require_staff(PERMISSION)
    with _asking_the_store("your store's channels could not be read just now; try again"):
        return channels.store_channels(staff.install)
