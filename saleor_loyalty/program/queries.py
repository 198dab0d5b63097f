"""Reads for the APIs: pending and expiring points, the program in plain terms, checkout estimates, the change log."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from saleor_loyalty.core import db
from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.history import Activity, order_activity
from saleor_loyalty.ledger.models import AccountCode, Lot
from saleor_loyalty.members.models import Member

from .earning import order_points
from .expiry import inactivity_deadline
from .models import Campaign, EarningAction, EarnRule, OrderAward, RedemptionRule, ServerApiKey, SettingsChange
from .rules import current_rule, program_settings
from .snapshots import LineSnapshot, OrderSnapshot


@dataclass(frozen=True)
class PendingLot:
    points: int
    unlocks_at: datetime | None
    order_id: str | None


@dataclass(frozen=True)
class ExpiringPoints:
    points: int
    expires_on: datetime


# Read on every widget and balance page: a fixed-shape statement (core/db.py says why not the ORM).
_PENDING_SQL = (
    "SELECT l.remaining, l.unlocks_at, l.order_id FROM ledger_lot l JOIN ledger_account a ON a.id = l.account_id"
    " WHERE l.member_id = %s AND a.code = %s AND l.remaining > 0 ORDER BY l.unlocks_at, l.id"
)
_UNLOCKS_AT = Lot._meta.get_field("unlocks_at")


def pending_lots(member: Member) -> list[PendingLot]:
    """Points still in their return window, soonest to unlock first."""
    rows = db.fetchall(_PENDING_SQL, (member.pk, AccountCode.POINTS_PENDING.value))
    return [PendingLot(remaining, db.convert(_UNLOCKS_AT, unlocks_at), order) for remaining, unlocks_at, order in rows]


def expiring_points(member: Member, within_days: int) -> list[ExpiringPoints]:
    """What expires when, within the horizon, under the program's policy."""
    horizon = timezone.now() + timedelta(days=within_days)
    deadline = inactivity_deadline(program_settings(member.install), member)
    if deadline is not None:
        available = Lot.objects.filter(member=member, account__code=AccountCode.POINTS).aggregate(s=Sum("remaining"))
        points = int(available["s"] or 0)
        return [ExpiringPoints(points, deadline)] if points and deadline <= horizon else []
    rows = (
        Lot.objects.filter(member=member, remaining__gt=0, expires_at__isnull=False, expires_at__lte=horizon)
        .annotate(day=TruncDate("expires_at"))
        .values("day")
        .annotate(points=Sum("remaining"))
        .order_by("day")
    )
    return [
        ExpiringPoints(int(row["points"]), datetime.combine(row["day"], datetime.min.time(), tzinfo=UTC))
        for row in rows
    ]


@dataclass(frozen=True)
class Estimate:
    points: int
    exact_points: Decimal
    currency: str


def estimate_for_checkout(
    install: Install,
    *,
    channel_slug: str,
    currency: str,
    lines: tuple[LineSnapshot, ...],
    total_gross: Decimal,
    total_net: Decimal,
    shipping_gross: Decimal,
    shipping_net: Decimal,
) -> Estimate:
    """What a checkout would earn if paid now, by the same computation as a paid order."""
    now = timezone.now()
    snapshot = OrderSnapshot(
        id="estimate",
        number="",
        status="UNFULFILLED",
        channel_slug=channel_slug,
        currency=currency,
        user_id=None,
        user_email=None,
        created=now,
        updated_at=now,
        total_gross=total_gross,
        total_net=total_net,
        shipping_gross=shipping_gross,
        shipping_net=shipping_net,
        total_charged=total_gross,
        total_refunded=Decimal(0),
        charge_status="FULL",
        voucher_code=None,
        lines=lines,
    )
    exact = order_points(snapshot, current_rule(install, channel_slug, currency))
    return Estimate(points=int(exact), exact_points=exact, currency=currency)


def return_window_days(install: Install) -> int:
    return program_settings(install).return_window_days


def settings_changes(install: Install, *, limit: int) -> list[SettingsChange]:
    """The newest changes to the program's configuration first (the dashboard's change log)."""
    return list(SettingsChange.objects.filter(install=install).order_by("-changed_at", "-pk")[:limit])


@dataclass(frozen=True)
class OrderLoyalty:
    """What one order did in the loyalty program, and why (the dashboard's order widget)."""

    order_id: str
    order_number: str
    member: Member | None
    points: int  # what the order holds now
    earned: int  # points it ever earned
    clawed_back: int  # taken back after refunds and cancellations
    redeemed: int  # points spent on it as a discount
    spend: Decimal  # money paid for it, net of refunds: what tiers count
    placement: str
    rule: dict[str, Any] | None  # the rule frozen at its first award: rate, tax/shipping, tier multiplier, campaigns
    activity: list[Activity]


_EARN_KINDS = {"EARNED"}
_CLAWBACK_KINDS = {"CLAWED_BACK"}


def order_loyalty(install: Install, order_id: str) -> OrderLoyalty | None:
    """The order's award and its ledger transfers; None when the app never saw the order."""
    award = OrderAward.objects.filter(install=install, order_id=order_id).select_related("member").first()
    if award is None:
        return None
    activity = order_activity(install.pk, order_id)
    return OrderLoyalty(
        order_id=order_id,
        order_number=award.order_number,
        member=award.member,
        points=award.points,
        earned=sum(a.points for a in activity if a.kind in _EARN_KINDS),
        clawed_back=sum(a.points for a in activity if a.kind in _CLAWBACK_KINDS),
        redeemed=sum(a.points for a in activity if a.kind == "REDEEMED"),
        spend=award.spend,
        placement=award.placement,
        rule=award.rule,
        activity=activity,
    )


def earn_rules(install: Install) -> list[EarnRule]:
    """The channels' earn rules with their multipliers (active first), as the dashboard lists them."""
    return list(
        EarnRule.objects.filter(install=install)
        .prefetch_related("multipliers")
        .order_by("-is_active", "channel_slug", "currency")
    )


def channel_currencies(install: Install) -> dict[str, str]:
    """The currency of each channel the app knows of (a Saleor channel has exactly one): from the channels' earn and
    redemption rules, else from the orders it saw. Three queries, whatever the number of channels."""
    found: dict[str, str] = {}
    sources = (
        EarnRule.objects.filter(install=install),
        RedemptionRule.objects.filter(install=install),
        OrderAward.objects.filter(install=install).exclude(channel_slug="").exclude(currency=""),
    )
    for rows in sources:
        for slug, currency in rows.order_by().values_list("channel_slug", "currency").distinct():
            found.setdefault(slug, currency)
    return found


def campaigns(install: Install) -> list[Campaign]:
    """Every campaign of the store, as staff manage them: live ones first, newest start first."""
    return list(Campaign.objects.filter(install=install).order_by("-is_active", "-starts_at"))


def find_campaign(install: Install, campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(install=install, pk=campaign_id).first()


def earning_actions(install: Install) -> list[EarningAction]:
    """The store's custom earning actions, live ones first."""
    return list(EarningAction.objects.filter(install=install).order_by("-is_active", "code"))


def api_keys(install: Install) -> list[ServerApiKey]:
    """The store's server API keys, live ones first, newest first."""
    return list(ServerApiKey.objects.filter(install=install).order_by("revoked_at", "-created_at"))
