"""Reads of the program: its terms for storefronts (``program``), its settings and change log for staff; the
queries themselves live in the domain."""

from typing import Any

from graphql import GraphQLError

from saleor_loyalty.change_log.descriptions import DescribedChange, describe_changes
from saleor_loyalty.installs.lookup import active_install
from saleor_loyalty.installs.models import Install
from saleor_loyalty.program import queries
from saleor_loyalty.program.models import EarnRule, ProgramSettings
from saleor_loyalty.program.rules import current_rule, program_settings
from saleor_loyalty.redemption.pricing import Terms
from saleor_loyalty.redemption.terms import terms_for

from . import PERMISSION

MAX_CHANGES = 100


def resolve_program_settings(root: Any, info: Any) -> ProgramSettings:
    staff = info.context.require_staff(PERMISSION)
    return program_settings(staff.install)


def resolve_settings_changes(root: Any, info: Any, first: int | None = 50) -> list[DescribedChange]:
    staff = info.context.require_staff(PERMISSION)
    size = max(0, min(50 if first is None else first, MAX_CHANGES))
    return describe_changes(staff.install, queries.settings_changes(staff.install, limit=size))


def resolve_earn_rules(root: Any, info: Any) -> list[EarnRule]:
    staff = info.context.require_staff(PERMISSION)
    return queries.earn_rules(staff.install)


def resolve_program(root: Any, info: Any, channel: str, currency: str) -> dict[str, Any]:
    shopper = info.context.shopper
    install = shopper.install if shopper else active_install(info.context.request.headers.get("Saleor-Api-Url"))
    if install is None:
        raise GraphQLError(
            "send a shopper token, or the Saleor-Api-Url of a store using this app",
            extensions={"code": "UNAUTHENTICATED"},
        )
    if len(currency) != 3 or not currency.isalpha():
        raise GraphQLError("currency must be an ISO 4217 code", extensions={"code": "INVALID"})
    return program_for(install, channel, currency.upper())


def program_for(install: Install, channel: str, currency: str) -> dict[str, Any]:
    """The program's terms in a channel and currency, as the ``program`` query answers them."""
    rule = current_rule(install, channel, currency)
    terms: Terms = terms_for(install, channel, currency)
    settings_row = program_settings(install)
    summary = (
        f"Earn {rule.points_per_unit.normalize()} point(s) per {currency} 1 spent; "
        f"{terms.points_per_unit} points = {currency} 1 off."
    )
    return {
        "channel": channel,
        "earn": {
            "points_per_unit": rule.points_per_unit,
            "currency": currency,
            "includes_tax": rule.include_tax,
            "includes_shipping": rule.include_shipping,
            "min_order_amount": rule.min_order_amount,
            "has_product_multipliers": bool(rule.multipliers),
        },
        "redeem": {
            "points_per_unit": terms.points_per_unit,
            "currency": currency,
            "min_points": terms.min_points,
            "max_points_per_order": terms.max_points_per_order,
            "max_percent_of_subtotal": terms.max_percent_of_subtotal,
            "step_points": terms.exact_step,
        },
        "return_window_days": settings_row.return_window_days,
        "points_expire_after_days": settings_row.points_expire_after_days,
        "summary": summary,
    }
