"""Reading the merchant's program settings and the earning rule in force for a channel and currency."""

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from django.db.models import Q

from saleor_loyalty.members.models import Member
from saleor_loyalty.saleor.models import Install

from .earning import CampaignTerms, RuleSnapshot
from .models import Campaign, EarnRule, ProgramSettings


def program_settings(install: Install) -> ProgramSettings:
    settings_row = ProgramSettings.objects.filter(install=install).first()
    if settings_row is None:
        ProgramSettings.objects.bulk_create([ProgramSettings(install=install)], ignore_conflicts=True)
        settings_row = ProgramSettings.objects.get(install=install)
    return settings_row


def member_tier(member: Member | None) -> tuple[str | None, Decimal]:
    """The member's tier name and earn multiplier (no tier: ``(None, 1)``)."""
    if member is None:
        return None, Decimal(1)
    from saleor_loyalty.tiers import queries as tiers

    tier = tiers.current_tier(member)
    return (tier.name, tier.multiplier) if tier is not None else (None, Decimal(1))


def active_campaigns(install: Install, channel_slug: str, at: datetime, tier: str | None) -> tuple[CampaignTerms, ...]:
    campaigns = Campaign.objects.filter(install=install, is_active=True, starts_at__lte=at, ends_at__gt=at).filter(
        Q(channel_slug="") | Q(channel_slug=channel_slug)
    )
    return tuple(
        CampaignTerms(
            campaign_id=c.pk,
            name=c.name,
            multiplier=c.multiplier,
            fixed_bonus=c.fixed_bonus,
            product_ids=tuple(c.product_ids or ()),
            category_ids=tuple(c.category_ids or ()),
        )
        for c in campaigns.order_by("pk")
        if not c.tiers or (tier is not None and tier in c.tiers)
    )


def rule_for_order(
    install: Install,
    channel_slug: str,
    currency: str,
    *,
    member: Member | None,
    placed_at: datetime,
    program: ProgramSettings | None = None,
) -> RuleSnapshot:
    """Everything that decides an order's points, as of when it was placed: rule, tier, campaigns."""
    tier, tier_multiplier = member_tier(member)
    return replace(
        current_rule(install, channel_slug, currency, program=program),
        tier=tier,
        tier_multiplier=tier_multiplier,
        campaigns=active_campaigns(install, channel_slug, placed_at, tier),
    )


def current_rule(
    install: Install, channel_slug: str, currency: str, *, program: ProgramSettings | None = None
) -> RuleSnapshot:
    """The channel's own rule for this currency, else the program default (points per unit, nothing extra).

    ``program``: the settings the caller already read (one read per event), else they are read here."""
    rule = (
        EarnRule.objects.filter(install=install, channel_slug=channel_slug, currency=currency, is_active=True)
        .prefetch_related("multipliers")
        .first()
    )
    if rule is None:
        return RuleSnapshot(
            rule_id=None,
            currency=currency,
            points_per_unit=(program or program_settings(install)).default_points_per_unit,
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
