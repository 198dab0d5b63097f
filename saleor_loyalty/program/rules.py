"""Reading the merchant's program settings and the earning rule in force for a channel and currency."""

from decimal import Decimal

from saleor_loyalty.saleor.models import Install

from .earning import RuleSnapshot
from .models import EarnRule, ProgramSettings


def program_settings(install: Install) -> ProgramSettings:
    settings_row = ProgramSettings.objects.filter(install=install).first()
    if settings_row is None:
        ProgramSettings.objects.bulk_create([ProgramSettings(install=install)], ignore_conflicts=True)
        settings_row = ProgramSettings.objects.get(install=install)
    return settings_row


def current_rule(install: Install, channel_slug: str, currency: str) -> RuleSnapshot:
    """The channel's own rule for this currency, else the program default (points per unit, nothing extra)."""
    rule = (
        EarnRule.objects.filter(install=install, channel_slug=channel_slug, currency=currency, is_active=True)
        .prefetch_related("multipliers")
        .first()
    )
    if rule is None:
        return RuleSnapshot(
            rule_id=None,
            currency=currency,
            points_per_unit=program_settings(install).default_points_per_unit,
            include_tax=False,
            include_shipping=False,
            min_order_amount=Decimal(0),
            multipliers={},
        )
    return RuleSnapshot(
        rule_id=rule.pk,
        currency=rule.currency,
        points_per_unit=rule.points_per_unit,
        include_tax=rule.include_tax,
        include_shipping=rule.include_shipping,
        min_order_amount=rule.min_order_amount,
        multipliers={f"{m.target}:{m.saleor_id}": m.multiplier for m in rule.multipliers.all()},
    )
