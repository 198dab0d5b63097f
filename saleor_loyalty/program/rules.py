"""Reading the merchant's program settings and the earning rule in force for a channel and currency."""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member

from . import config
from .earning import CampaignTerms, RuleSnapshot
from .extensions import member_tier
from .models import Campaign, EarnRule, ProgramSettings


def program_settings(install: Install) -> ProgramSettings:
    """The store's program settings (created with the defaults on first use); per process while an event is
    processed (``config.cached``)."""
    return config.cached(install.pk, "program", lambda: _read_program_settings(install))


def _read_program_settings(install: Install) -> ProgramSettings:
    settings_row = ProgramSettings.objects.filter(install=install).first()
    if settings_row is None:
        ProgramSettings.objects.bulk_create([ProgramSettings(install=install)], ignore_conflicts=True)
        settings_row = ProgramSettings.objects.get(install=install)
    return settings_row


@dataclass(frozen=True)
class _CampaignWindow:
    terms: CampaignTerms
    starts_at: datetime
    ends_at: datetime
    channel_slug: str
    tiers: tuple[str, ...]


def _active_campaign_windows(install: Install) -> tuple[_CampaignWindow, ...]:
    return tuple(
        _CampaignWindow(
            terms=CampaignTerms(
                campaign_id=c.pk,
                name=c.name,
                multiplier=c.multiplier,
                fixed_bonus=c.fixed_bonus,
                product_ids=tuple(c.product_ids or ()),
                category_ids=tuple(c.category_ids or ()),
            ),
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            channel_slug=c.channel_slug,
            tiers=tuple(c.tiers or ()),
        )
        for c in Campaign.objects.filter(install=install, is_active=True).order_by("pk")
    )


def active_campaigns(install: Install, channel_slug: str, at: datetime, tier: str | None) -> tuple[CampaignTerms, ...]:
    """The campaigns in force at ``at`` in the channel for the tier. The store's active campaigns are read once
    (per process while an event is processed) and matched here."""
    windows = config.cached(install.pk, "campaigns", lambda: _active_campaign_windows(install))
    return tuple(
        w.terms
        for w in windows
        if w.starts_at <= at < w.ends_at
        and w.channel_slug in ("", channel_slug)
        and (not w.tiers or (tier is not None and tier in w.tiers))
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
    return config.cached(
        install.pk,
        ("rule", channel_slug, currency),
        lambda: _read_rule(install, channel_slug, currency, program=program),
    )


def _read_rule(install: Install, channel_slug: str, currency: str, *, program: ProgramSettings | None) -> RuleSnapshot:
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
