"""Reading the redemption terms in force for a channel and currency (the rule, or the program default)."""

from decimal import Decimal

from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.models import RedemptionRule

from .pricing import Terms

# Without a rule of its own a channel redeems 100 points for one unit of currency (1 point = 1 cent), from 100.
DEFAULT_POINTS_PER_UNIT = 100
DEFAULT_MIN_POINTS = 100


def terms_for(install: Install, channel_slug: str, currency: str) -> Terms:
    rule = RedemptionRule.objects.filter(
        install=install, channel_slug=channel_slug, currency=currency, is_active=True
    ).first()
    if rule is None:
        return Terms(
            currency=currency,
            points_per_unit=DEFAULT_POINTS_PER_UNIT,
            min_points=DEFAULT_MIN_POINTS,
            max_points_per_order=None,
            max_percent_of_subtotal=Decimal(100),
            step_points=1,
        )
    return Terms(
        currency=rule.currency,
        points_per_unit=rule.points_per_unit,
        min_points=rule.min_points,
        max_points_per_order=rule.max_points_per_order,
        max_percent_of_subtotal=rule.max_percent_of_subtotal,
        step_points=rule.step_points,
    )
