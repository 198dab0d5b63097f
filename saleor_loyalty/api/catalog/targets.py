"""A campaign's products and categories by name (asked of the store, cached), and refusing ids it does not have."""

from typing import Any

from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.models import Campaign
from saleor_loyalty.saleor import catalog
from saleor_loyalty.saleor.client import SaleorError

_NAMES = "catalog_names"  # RequestContext.cache: what this request already knows (or tried) per id


def prefetch_names(info: Any, install: Install, campaigns: list[Campaign]) -> None:
    """Ask the store once for every campaign's products and categories (the list would otherwise ask per row)."""
    prefetch_ids(
        info,
        install,
        [i for c in campaigns for i in c.product_ids],
        [i for c in campaigns for i in c.category_ids],
    )


def prefetch_ids(info: Any, install: Install, product_ids: list[str], category_ids: list[str]) -> None:
    """Ask the store once for the names of those products and categories this request does not know yet."""
    known: dict[str, catalog.StoreItem | None] = info.context.cache.setdefault(_NAMES, {})
    products = [i for i in product_ids if i not in known]
    categories = [i for i in category_ids if i not in known]
    if products or categories:
        found = catalog.names(install, products, categories)
        known.update({i: found.get(i) for i in [*products, *categories]})


def known_item(info: Any, saleor_id: str) -> catalog.StoreItem:
    """An id this request already asked about (``prefetch_ids``) as a store item; its name ``None`` when unknown."""
    known: dict[str, catalog.StoreItem | None] = info.context.cache.setdefault(_NAMES, {})
    return known.get(saleor_id) or catalog.StoreItem(saleor_id, None)


def target_items(info: Any, campaign: Campaign, ids: list[str]) -> list[catalog.StoreItem]:
    """``ids`` as store items, in their order; a name unknown (or unavailable now) is ``None``."""
    known: dict[str, catalog.StoreItem | None] = info.context.cache.setdefault(_NAMES, {})
    if any(i not in known for i in ids):
        prefetch_names(info, campaign.install, [campaign])
    return [known.get(i) or catalog.StoreItem(i, None) for i in ids]


def unknown_target_errors(install: Install, product_ids: list[str], category_ids: list[str]) -> list[dict[str, Any]]:
    """Field errors for ids the store has no product or category of (nothing asked when both lists are empty)."""
    if not product_ids and not category_ids:
        return []
    try:
        products, categories = catalog.unknown_ids(install, product_ids, category_ids)
    except SaleorError:
        return [
            {
                "field": "productIds" if product_ids else "categoryIds",
                "code": "SALEOR_ERROR",
                "message": "your store could not be asked whether it has these products and categories; try again",
            }
        ]
    errors = []
    for field, what, missing in (("productIds", "product", products), ("categoryIds", "category", categories)):
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            errors.append({"field": field, "code": "NOT_FOUND", "message": f"your store has no such {what}: {shown}"})
    return errors
