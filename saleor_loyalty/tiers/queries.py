"""Reading tiers: a member's earn multiplier and where they stand (for the shopper API and the dashboard)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cached_property

from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from saleor_loyalty.core import db
from saleor_loyalty.installs.models import Install
from saleor_loyalty.members import actions as members
from saleor_loyalty.members.models import Member
from saleor_loyalty.program import config
from saleor_loyalty.program.models import OrderAward

from .models import POINTS_UNIT, Basis, MemberTier, Tier, TierChange, TierSettings, TierThreshold, WindowKind

ONE = Decimal(1)


def active_settings(install_id: int) -> TierSettings | None:
    """The store's tier settings when tiers are on; per process while an event is processed (``config.cached``)."""
    return config.cached(install_id, "tiers", lambda: _read_active_settings(install_id))


def _read_active_settings(install_id: int) -> TierSettings | None:
    return TierSettings.objects.filter(install_id=install_id, is_active=True).first()


def settings_or_defaults(install: Install) -> TierSettings:
    """The store's tier settings, or the defaults (unsaved) before the merchant saved any: what the panel shows."""
    found = TierSettings.objects.filter(install=install).first()
    return found if found is not None else TierSettings(install=install)


def base_tier(install_id: int) -> Tier | None:
    """The program's base tier, if it has one: the active rank-1 tier whose thresholds are all 0 ("everyone starts
    in Bronze"). Never stored as a member's state; a member in no higher tier is in it."""
    return _base_among(Tier.objects.filter(install_id=install_id, is_active=True, rank=1))


def _base_among(tiers: Iterable[Tier]) -> Tier | None:
    """``base_tier`` among ``tiers`` already read (with their thresholds prefetched: no query)."""
    tier = next((t for t in tiers if t.is_active and t.rank == 1), None)
    if tier is None:
        return None
    qualifies = [threshold.qualify for threshold in tier.thresholds.all()]
    return tier if qualifies and not any(qualifies) else None


def current_tier(member: Member) -> Tier | None:
    """The member's tier: the stored one, else the base tier (None without either, or when tiers are off)."""
    member = members.current(member)
    if active_settings(member.install_id) is None:
        return None
    state = MemberTier.objects.select_related("tier").filter(member=member, tier__isnull=False).first()
    return state.tier if state is not None else base_tier(member.install_id)


def tier_and_multiplier(member: Member) -> tuple[str | None, Decimal]:
    """The member's tier name and earn multiplier (no tier: ``(None, Decimal(1))``), for the program's rules."""
    tier = current_tier(member)
    return (tier.name, tier.multiplier) if tier is not None else (None, Decimal(1))


def tier_name(member: Member) -> str | None:
    """The name of the member's current tier (None without a tier, or when tiers are off)."""
    tier = current_tier(member)
    return tier.name if tier is not None else None


def earn_multiplier(member: Member) -> Decimal:
    """The earn multiplier of the member's current tier (1 without a tier, or when tiers are off)."""
    tier = current_tier(member)
    return tier.multiplier if tier is not None else ONE


@dataclass(frozen=True)
class Window:
    starts_at: datetime  # qualifying orders are those first paid from here on
    ends_at: datetime | None  # calendar year: its end; rolling: None (orders age out one by one)


def qualification_window(settings_row: TierSettings, now: datetime) -> Window:
    if settings_row.window_kind == WindowKind.CALENDAR_YEAR:
        now = now.astimezone(UTC)
        start = datetime(now.year, 1, 1, tzinfo=UTC)
        return Window(start, datetime(now.year + 1, 1, 1, tzinfo=UTC))
    return Window(now - timedelta(days=settings_row.window_days), None)


# The award sums are read on every widget, ``myTier`` and order: fixed-shape statements (core/db.py says why not
# the ORM). The member's own orders and those of guests merged into them: as ``member_id IN (SELECT id ... WHERE
# id = %s OR merged_into_id = %s)`` both sides use an index; a join of awards to members with the OR on the join
# scans every award of the store (~0.2 s at 100k members).
_AWARDS = (
    "FROM program_order_award WHERE member_id IN (SELECT id FROM members_member WHERE id = %s OR merged_into_id = %s)"
    " AND first_paid_at >= %s AND first_paid_at <= %s"
)
_POINTS_SUM_SQL = f"SELECT SUM(points) {_AWARDS}"
_SPEND_SUM_SQL = f"SELECT currency, SUM(spend) {_AWARDS} GROUP BY currency"
_SPEND = OrderAward._meta.get_field("spend")


def qualifying_amounts(member: Member, settings_row: TierSettings, now: datetime) -> dict[str, Decimal]:
    """What counts towards the member's tier in the current window, per unit (currency, or PTS for points)."""
    window = qualification_window(settings_row, now)
    adapt = connection.ops.adapt_datetimefield_value
    params = (member.pk, member.pk, adapt(window.starts_at), adapt(now))
    if settings_row.basis == Basis.POINTS:
        row = db.fetchone(_POINTS_SUM_SQL, params)
        return {POINTS_UNIT: Decimal(row[0] or 0 if row else 0)}
    return {currency: db.convert(_SPEND, total) for currency, total in db.fetchall(_SPEND_SUM_SQL, params)}


@dataclass(frozen=True)
class Progress:
    basis: str
    unit: str | None  # the currency of amount_to_go (None on the points basis)
    amount: Decimal  # qualifying amount so far, in that unit
    amount_to_go: Decimal | None  # to the next tier (None at the top)
    window: Window


@dataclass(frozen=True)
class TierStatus:
    tier: Tier | None
    state: MemberTier | None
    next_tier: Tier | None
    next_thresholds: list[TierThreshold]
    progress: Progress | None
    grace_ends_at: datetime | None
    member: Member
    history_limit: int = 20

    @cached_property
    def history(self) -> list[TierChange]:
        """The member's tier changes, newest first (read when asked for: most pages do not show them)."""
        return list(
            TierChange.objects.filter(member=self.member)
            .select_related("from_tier", "to_tier")
            .order_by("-at", "-id")[: self.history_limit]
        )


def _choose_unit(amounts: dict[str, Decimal], thresholds: list[TierThreshold], preferred: str | None) -> str | None:
    units = [t.unit for t in thresholds]
    if preferred and preferred in units:
        return preferred
    spent = [u for u in units if amounts.get(u, 0) > 0]
    if spent:  # the currency the member is closest to the threshold in
        by_unit = {t.unit: t.qualify for t in thresholds}
        return min(spent, key=lambda u: (by_unit[u] - amounts[u]) / by_unit[u])
    return units[0] if units else preferred


_SETTINGS, _STATE, _TIER, _THRESHOLD = db.Row(TierSettings), db.Row(MemberTier), db.Row(Tier), db.Row(TierThreshold)
# The tier program (settings, every tier, their thresholds) and the member's tier state in one statement: what
# ``tier_status`` needs before the award sum (four ORM statements before).
_PROGRAM_SQL = (
    f"SELECT {_SETTINGS.columns('s')}, {_STATE.columns('mt')}, {_TIER.columns('t')}, {_THRESHOLD.columns('th')}"  # noqa: S608 - model columns
    " FROM (SELECT CAST(%s AS BIGINT) AS install_id, CAST(%s AS BIGINT) AS member_id) q"
    " LEFT JOIN tiers_settings s ON s.install_id = q.install_id"
    " LEFT JOIN tiers_member_tier mt ON mt.member_id = q.member_id"
    " LEFT JOIN tiers_tier t ON t.install_id = q.install_id"
    " LEFT JOIN tiers_threshold th ON th.tier_id = t.id"
    " ORDER BY t.rank, th.unit"
)


@dataclass(frozen=True)
class _Program:
    settings: TierSettings | None
    state: MemberTier | None
    tiers: list[Tier]  # every tier, active or not, lowest first
    thresholds: dict[int, list[TierThreshold]]  # by tier id, sorted by unit


def _program_and_state(member: Member) -> _Program:
    rows = db.fetchall(_PROGRAM_SQL, (member.install_id, member.pk))
    first = rows[0]  # the FROM clause is one row: every LEFT JOIN keeps it
    settings_row = _SETTINGS.build(first)
    state = _STATE.build(first, _SETTINGS.width)
    at_tier = _SETTINGS.width + _STATE.width
    at_threshold = at_tier + _TIER.width
    tiers: dict[int, Tier] = {}
    thresholds: dict[int, list[TierThreshold]] = {}
    for row in rows:
        tier_id = row[at_tier]
        if tier_id is None:
            continue
        if tier_id not in tiers:
            tier = _TIER.build(row, at_tier)
            assert tier is not None
            tiers[tier_id] = tier
            thresholds[tier_id] = []
        threshold = _THRESHOLD.build(row, at_threshold)
        if threshold is not None:
            thresholds[tier_id].append(threshold)
    if state is not None:  # as select_related("tier", "pinned_tier") would have read them
        state.tier = tiers.get(state.tier_id) if state.tier_id else None
        state.pinned_tier = tiers.get(state.pinned_tier_id) if state.pinned_tier_id else None
    return _Program(settings_row, state, list(tiers.values()), thresholds)


def _base_tier_of(tiers: list[Tier], thresholds: dict[int, list[TierThreshold]]) -> Tier | None:
    """``base_tier`` among tiers already read with their thresholds."""
    tier = next((t for t in tiers if t.is_active and t.rank == 1), None)
    if tier is None:
        return None
    qualifies = [threshold.qualify for threshold in thresholds[tier.pk]]
    return tier if qualifies and not any(qualifies) else None


def tier_status(
    member: Member, *, now: datetime | None = None, currency: str | None = None, history_limit: int = 20
) -> TierStatus:
    member = members.current(member)
    now = now or timezone.now()
    program = _program_and_state(member)
    settings_row, state = program.settings, program.state
    if settings_row is None or not settings_row.is_active:
        return TierStatus(None, state, None, [], None, None, member, history_limit)
    active = [t for t in program.tiers if t.is_active]
    tier = state.tier if state and state.tier else _base_tier_of(active, program.thresholds)
    rank = tier.rank if tier else 0
    next_tier = next((t for t in active if t.rank > rank), None)
    points_basis = settings_row.basis == Basis.POINTS  # thresholds of the other basis are ignored
    thresholds = [
        t for t in (program.thresholds[next_tier.pk] if next_tier else ()) if (t.unit == POINTS_UNIT) == points_basis
    ]
    amounts = qualifying_amounts(member, settings_row, now)
    window = qualification_window(settings_row, now)
    if settings_row.basis == Basis.POINTS:
        unit: str | None = POINTS_UNIT
    else:
        unit = _choose_unit(amounts, thresholds, currency.upper() if currency else None)
    amount = amounts.get(unit or "", Decimal(0))
    threshold = next((t.qualify for t in thresholds if t.unit == unit), None)
    progress = Progress(
        basis=settings_row.basis,
        unit=None if unit == POINTS_UNIT else unit,
        amount=amount,
        amount_to_go=max(Decimal(0), threshold - amount) if threshold is not None else None,
        window=window,
    )
    grace_ends_at = state.below_since + timedelta(days=settings_row.grace_days) if state and state.below_since else None
    return TierStatus(tier, state, next_tier, thresholds, progress, grace_ends_at, member, history_limit)


@dataclass(frozen=True)
class TierMembers:
    tier: Tier
    members: int  # members in the tier now (the base tier: everyone in no higher tier)
    is_base: bool = False  # the program's base tier (``base_tier``): everyone starts in it, nobody is moved to it


def tiers_with_members(install_id: int) -> list[TierMembers]:
    """The store's tiers, lowest first, with how many members each holds now (the tiers and their thresholds, then
    two aggregate queries; the base tier is found among the tiers read)."""
    tiers = list(Tier.objects.filter(install_id=install_id).prefetch_related("thresholds").order_by("rank"))
    counts = dict(
        MemberTier.objects.filter(install_id=install_id, tier__isnull=False)
        .values_list("tier_id")
        .annotate(n=Count("pk"))
        .values_list("tier_id", "n")
    )
    base = _base_among(tiers)
    if base is not None:
        everyone = Member.objects.filter(install_id=install_id, merged_into__isnull=True).count()
        counts[base.pk] = everyone - sum(n for tier_id, n in counts.items() if tier_id != base.pk)
    return [TierMembers(tier, counts.get(tier.pk, 0), is_base=tier == base) for tier in tiers]


@dataclass(frozen=True)
class TierMovement:
    week: datetime
    upgrades: int
    downgrades: int


def tier_movements(install_id: int, *, weeks: int = 26) -> list[TierMovement]:
    """Upgrades and downgrades per week over the last ``weeks`` (the panel's chart), oldest first."""
    since = timezone.now() - timedelta(weeks=weeks)
    rows = (
        TierChange.objects.filter(install_id=install_id, at__gte=since)
        .annotate(week=TruncWeek("at"))
        .values("week")
        .annotate(up=Count("pk", filter=Q(is_upgrade=True)), down=Count("pk", filter=Q(is_upgrade=False)))
        .order_by("week")
    )
    return [TierMovement(row["week"], row["up"], row["down"]) for row in rows]
