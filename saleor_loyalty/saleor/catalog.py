"""The store's products and categories as the dashboard's pickers need them: search by name, names by id.

Asked of Saleor with the app's own token (the app holds MANAGE_DISCOUNTS, so Saleor shows it unpublished products
too, without naming a channel), through ``SaleorClient``: the allow-list, the network guard, the per-request call
budget and Saleor's errors apply as to every other call. The documents are ``graphql/operations/product_search``,
``category_search`` and ``catalog_names``.

Names are cached for a few minutes per store, so the campaign list asks Saleor once for all its campaigns, not on
every display; a store that cannot be reached leaves names unknown (``None``), never the list unreadable.
Ids that are not Saleor ids of the right type never reach Saleor (it would fail the whole call for one of them).
"""

import base64
import binascii
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from saleor_loyalty.installs.models import Install

from .client import SaleorClient, SaleorError

logger = logging.getLogger(__name__)

MAX_SEARCH_LENGTH = 100  # longer is no product name staff type; Saleor would search it all the same
MAX_RESULTS = 50
PER_CALL = 100  # Saleor serves at most 100 nodes a page
MAX_NAME_CALLS = 2  # per display: the campaign list stays well within a request's budget of calls to Saleor
NAME_TTL = 300  # seconds: a product renamed in Saleor shows its new name within five minutes
UNKNOWN = ""  # cached for an id Saleor does not know (deleted): not asked again until it expires

PRODUCT = "Product"
CATEGORY = "Category"


class InvalidSearch(ValueError):
    """A search the app refuses before asking Saleor."""


@dataclass(frozen=True)
class StoreItem:
    """A product or category as a picker shows it: its Saleor id, name, and where it sits (category, parent)."""

    id: str
    name: str | None  # None: the store does not know the id, or could not be asked
    detail: str = ""


def _client(install: Install) -> SaleorClient:
    return SaleorClient(install.saleor_api_url, install.auth_token)


def is_global_id(value: str, type_name: str) -> bool:
    """Whether ``value`` is a Saleor (graphene) global id of ``type_name``, e.g. ``UHJvZHVjdDox`` for Product 1."""
    if not isinstance(value, str) or not 0 < len(value) <= 255:
        return False
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    kind, _, pk = decoded.partition(":")
    return kind == type_name and pk.isdigit()


def _search_text(search: str) -> str:
    text = search.strip() if isinstance(search, str) else ""
    if len(text) > MAX_SEARCH_LENGTH:
        raise InvalidSearch(f"search must be at most {MAX_SEARCH_LENGTH} characters")
    if not text.isprintable():
        raise InvalidSearch("search must be printable text")
    return text


def _size(first: int) -> int:
    if isinstance(first, bool) or not isinstance(first, int) or not 0 < first <= MAX_RESULTS:
        raise InvalidSearch(f"first must be between 1 and {MAX_RESULTS}")
    return first


def _item(node: Any, parent_key: str) -> StoreItem | None:
    if not isinstance(node, dict) or not isinstance(node.get("id"), str):
        return None
    parent = node.get(parent_key)
    detail = parent.get("name") if isinstance(parent, dict) else None
    name = node.get("name")
    return StoreItem(node["id"], name if isinstance(name, str) else None, detail if isinstance(detail, str) else "")


def _items(connection: Any, parent_key: str) -> list[StoreItem]:
    edges = connection.get("edges") if isinstance(connection, dict) else None
    found = [_item(edge.get("node"), parent_key) for edge in edges or [] if isinstance(edge, dict)]
    return [item for item in found if item is not None]


def _remember(install: Install, items: Iterable[StoreItem]) -> None:
    cache.set_many({_key(install, item.id): (item.name or UNKNOWN, item.detail) for item in items}, NAME_TTL)


def search_products(install: Install, search: str, first: int = 20) -> list[StoreItem]:
    """Products whose name matches ``search`` (empty: the first ones), with their category. ``InvalidSearch``
    or ``SaleorError``."""
    text, size = _search_text(search), _size(first)
    data = _client(install).execute("product_search", {"search": text, "first": size})
    items = _items(data.get("products"), "category")
    _remember(install, items)
    return items


def search_categories(install: Install, search: str, first: int = 20) -> list[StoreItem]:
    """Categories whose name matches ``search`` (empty: the first ones), with their parent."""
    text, size = _search_text(search), _size(first)
    data = _client(install).execute("category_search", {"search": text, "first": size})
    items = _items(data.get("categories"), "parent")
    _remember(install, items)
    return items


def _key(install: Install, saleor_id: str) -> str:
    return f"saleor-catalog:{install.pk}:{saleor_id}"


def _fetch(install: Install, product_ids: list[str], category_ids: list[str]) -> list[StoreItem]:
    """One call for up to 100 products and 100 categories (well-formed ids only); unknown ids come back unnamed."""
    data = _client(install).execute(
        "catalog_names",
        {
            "productIds": product_ids,
            "categoryIds": category_ids,
            "withProducts": bool(product_ids),
            "withCategories": bool(category_ids),
        },
    )
    found = {
        item.id: item for item in [*_items(data.get("products"), "category"), *_items(data.get("categories"), "parent")]
    }
    return [found.get(saleor_id, StoreItem(saleor_id, None)) for saleor_id in [*product_ids, *category_ids]]


def lookup(
    install: Install,
    product_ids: Iterable[str],
    category_ids: Iterable[str],
    *,
    fresh: bool = False,
    max_calls: int = MAX_NAME_CALLS,
) -> dict[str, StoreItem]:
    """Every id's ``StoreItem`` (name ``None`` when the store does not know it). From the cache unless ``fresh``;
    what is missing is asked of Saleor in at most ``max_calls`` calls (ids past those are left out). Raises
    ``SaleorError`` when the store cannot be asked (``names`` is the forgiving variant)."""
    products = [i for i in dict.fromkeys(product_ids) if is_global_id(i, PRODUCT)]
    categories = [i for i in dict.fromkeys(category_ids) if is_global_id(i, CATEGORY)]
    result: dict[str, StoreItem] = {}
    if not fresh:
        cached = cache.get_many([_key(install, i) for i in [*products, *categories]])
        for saleor_id in [*products, *categories]:
            hit = cached.get(_key(install, saleor_id))
            if hit is not None:
                result[saleor_id] = StoreItem(saleor_id, hit[0] or None, hit[1])
        products = [i for i in products if i not in result]
        categories = [i for i in categories if i not in result]
    calls = 0
    while (products or categories) and calls < max_calls:
        batch_p, products = products[:PER_CALL], products[PER_CALL:]
        batch_c, categories = categories[:PER_CALL], categories[PER_CALL:]
        items = _fetch(install, batch_p, batch_c)
        calls += 1
        _remember(install, items)
        result.update((item.id, item) for item in items)
    return result


def names(install: Install, product_ids: Iterable[str], category_ids: Iterable[str]) -> dict[str, StoreItem]:
    """As ``lookup``, but a store that cannot be asked now leaves the uncached names unknown (logged)."""
    try:
        return lookup(install, product_ids, category_ids)
    except SaleorError as exc:
        logger.warning("could not read product and category names from the store: %s", exc)
        return {}


def unknown_ids(
    install: Install, product_ids: Iterable[str], category_ids: Iterable[str]
) -> tuple[list[str], list[str]]:
    """The product ids and the category ids the store does not have (or that are not such ids at all), asked of
    Saleor now (``SaleorError`` when it cannot be asked)."""
    products, categories = list(dict.fromkeys(product_ids)), list(dict.fromkeys(category_ids))
    calls = -(-max(len(products), len(categories)) // PER_CALL)
    found = lookup(install, products, categories, fresh=True, max_calls=calls)
    missing_products = [i for i in products if i not in found or found[i].name is None]
    missing_categories = [i for i in categories if i not in found or found[i].name is None]
    return missing_products, missing_categories
