"""GraphQL types for shoppers: balances, pending and expiring points, activity, the program, redemptions."""

import base64
from decimal import Decimal
from typing import Any

import graphene
from graphql import GraphQLError

from saleor_loyalty.ledger.history import member_activity
from saleor_loyalty.ledger.queries import Balances, MemberAccount, member_balances
from saleor_loyalty.members.models import Member
from saleor_loyalty.program import queries as program_queries
from saleor_loyalty.program.rules import current_rule, program_settings
from saleor_loyalty.redemption.models import Redemption, Reward
from saleor_loyalty.redemption.pricing import Terms

MAX_PAGE = 100


def global_id(type_name: str, pk: object) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def from_global_id(value: str, type_name: str) -> int:
    try:
        decoded = base64.b64decode(value.encode(), validate=True).decode()
        name, _, pk = decoded.partition(":")
        if name != type_name:
            raise ValueError(name)
        return int(pk)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphQLError(f"not a {type_name} id: {value!r}", extensions={"code": "INVALID"}) from exc


class Money(graphene.ObjectType):
    amount = graphene.Decimal(required=True, description="Exact, at the currency's precision.")
    currency = graphene.String(required=True)


class PointsBalance(graphene.ObjectType):
    available = graphene.Int(required=True, description="Points that can be spent now.")
    pending = graphene.Int(required=True, description="Points earned but still in the return window.")
    held = graphene.Int(required=True, description="Points reserved by a redemption not yet completed.")
    owed = graphene.Int(required=True, description="Points owed after a refund of an order whose points were spent.")
    net = graphene.Int(required=True, description="available - owed: the balance to show (can be negative).")
    lifetime = graphene.Int(required=True, description="Points ever earned, net of clawbacks.")


class PendingPoints(graphene.ObjectType):
    points = graphene.Int(required=True)
    unlocks_at = graphene.DateTime()
    order_id = graphene.ID()


class ExpiringPoints(graphene.ObjectType):
    points = graphene.Int(required=True)
    expires_on = graphene.DateTime(required=True)


class PointsActivityKind(graphene.Enum):
    EARNED = "EARNED"
    UNLOCKED = "UNLOCKED"
    CLAWED_BACK = "CLAWED_BACK"
    CLAWBACK_FORGIVEN = "CLAWBACK_FORGIVEN"
    DEBT_REPAID = "DEBT_REPAID"
    REDEMPTION_HELD = "REDEMPTION_HELD"
    REDEEMED = "REDEEMED"
    REDEMPTION_RELEASED = "REDEMPTION_RELEASED"
    REDEMPTION_RETURNED = "REDEMPTION_RETURNED"
    EXPIRED = "EXPIRED"
    MERGED = "MERGED"
    ADJUSTED = "ADJUSTED"


class PointsActivity(graphene.ObjectType):
    id = graphene.ID(required=True)
    kind = graphene.Field(PointsActivityKind, required=True)
    points = graphene.Int(required=True)
    balance_change = graphene.Int(required=True, description="Effect on available + pending + held - owed.")
    order_id = graphene.ID()
    created_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_id(root: Any, info: Any) -> str:
        return global_id("PointsActivity", root.id)


class PageInfo(graphene.ObjectType):
    has_next_page = graphene.Boolean(required=True)
    has_previous_page = graphene.Boolean(required=True)
    start_cursor = graphene.String()
    end_cursor = graphene.String()


class PointsActivityEdge(graphene.ObjectType):
    node = graphene.Field(PointsActivity, required=True)
    cursor = graphene.String(required=True)


class PointsActivityConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(PointsActivityEdge), required=True)
    page_info = graphene.Field(PageInfo, required=True)


def activity_connection(
    member: Member, first: int | None, after: str | None, last: int | None, before: str | None
) -> dict[str, Any]:
    """A Relay connection over the member's activity, newest first, with keyset cursors."""
    if first is not None and last is not None:
        raise GraphQLError("give first or last, not both", extensions={"code": "INVALID"})
    size = last if last is not None else (first if first is not None else 20)
    if not 0 < size <= MAX_PAGE:
        raise GraphQLError(f"page size must be between 1 and {MAX_PAGE}", extensions={"code": "INVALID"})
    after_id = from_global_id(after, "PointsActivity") if after else None
    before_id = from_global_id(before, "PointsActivity") if before else None
    if last is not None:
        rows = member_activity(member, limit=size + 1, after_id=before_id, newest_first=False)
        has_more = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_next, has_previous = before_id is not None, has_more
    else:
        rows = member_activity(member, limit=size + 1, after_id=after_id, before_id=before_id)
        has_more = len(rows) > size
        rows = rows[:size]
        has_next, has_previous = has_more, after_id is not None
    edges = [{"node": row, "cursor": global_id("PointsActivity", row.id)} for row in rows]
    return {
        "edges": edges,
        "page_info": {
            "has_next_page": has_next,
            "has_previous_page": has_previous,
            "start_cursor": edges[0]["cursor"] if edges else None,
            "end_cursor": edges[-1]["cursor"] if edges else None,
        },
    }


class EarnTerms(graphene.ObjectType):
    points_per_unit = graphene.Decimal(required=True, description="Points per one unit of currency spent.")
    currency = graphene.String(required=True)
    includes_tax = graphene.Boolean(required=True)
    includes_shipping = graphene.Boolean(required=True)
    min_order_amount = graphene.Decimal(required=True)
    has_product_multipliers = graphene.Boolean(required=True)


class RedeemTerms(graphene.ObjectType):
    points_per_unit = graphene.Int(required=True, description="Points for one unit of currency off.")
    currency = graphene.String(required=True)
    min_points = graphene.Int(required=True)
    max_points_per_order = graphene.Int()
    max_percent_of_subtotal = graphene.Decimal(required=True)
    step_points = graphene.Int(required=True, description="Redeemable amounts are multiples of this.")


class LoyaltyProgram(graphene.ObjectType):
    channel = graphene.String(required=True)
    earn = graphene.Field(EarnTerms, required=True)
    redeem = graphene.Field(RedeemTerms, required=True)
    return_window_days = graphene.Int(required=True, description="Earned points are pending this long.")
    points_expire_after_days = graphene.Int()
    summary = graphene.String(required=True, description="The program in one sentence, for display.")


def program_for(install: Any, channel: str, currency: str) -> dict[str, Any]:
    from saleor_loyalty.redemption.terms import terms_for

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


class LoyaltyMember(graphene.ObjectType):
    id = graphene.ID(required=True)
    saleor_user_id = graphene.ID(required=True)
    email = graphene.String()
    balance = graphene.Field(PointsBalance, required=True)
    pending_points = graphene.List(graphene.NonNull(PendingPoints), required=True)
    expiring_points = graphene.List(
        graphene.NonNull(ExpiringPoints), required=True, within_days=graphene.Int(default_value=30)
    )
    history = graphene.Field(
        PointsActivityConnection,
        required=True,
        first=graphene.Int(),
        after=graphene.String(),
        last=graphene.Int(),
        before=graphene.String(),
    )

    # The root is the member, or (the customer widget) the member read with their balances in one statement.
    @staticmethod
    def resolve_id(root: Member | MemberAccount, info: Any) -> str:
        return global_id("LoyaltyMember", _member(root).pk)

    @staticmethod
    def resolve_saleor_user_id(root: Member | MemberAccount, info: Any) -> str | None:
        return _member(root).saleor_user_id

    @staticmethod
    def resolve_email(root: Member | MemberAccount, info: Any) -> str:
        return _member(root).email

    @staticmethod
    def resolve_balance(root: Member | MemberAccount, info: Any) -> Balances:
        return root.balances if isinstance(root, MemberAccount) else member_balances(root)

    @staticmethod
    def resolve_pending_points(root: Member | MemberAccount, info: Any) -> Any:
        return program_queries.pending_lots(_member(root))

    @staticmethod
    def resolve_expiring_points(root: Member | MemberAccount, info: Any, within_days: int) -> Any:
        if not 0 < within_days <= 3650:
            raise GraphQLError("withinDays must be between 1 and 3650", extensions={"code": "INVALID"})
        return program_queries.expiring_points(_member(root), within_days)

    @staticmethod
    def resolve_history(
        root: Member | MemberAccount,
        info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Any:
        return activity_connection(_member(root), first, after, last, before)


def _member(root: Member | MemberAccount) -> Member:
    return root.member if isinstance(root, MemberAccount) else root


class RedemptionStatusEnum(graphene.Enum):
    PLACING = "placing"
    ACTIVE = "active"
    CAPTURED = "captured"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"


class RewardType(graphene.ObjectType):
    class Meta:
        name = "Reward"

    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    description = graphene.String(required=True)
    kind = graphene.String(required=True, description="FIXED_AMOUNT, PERCENTAGE, FREE_SHIPPING or FREE_PRODUCT")
    points_cost = graphene.Int(required=True)
    value = graphene.Decimal(description="Amount off (fixed) or percent off (percentage).")
    max_amount = graphene.Decimal()
    variant_id = graphene.ID()
    ends_at = graphene.DateTime()
    affordable = graphene.Boolean(required=True, description="Whether the shopper has enough available points.")

    @staticmethod
    def resolve_id(root: Reward, info: Any) -> str:
        return global_id("Reward", root.pk)

    @staticmethod
    def resolve_kind(root: Reward, info: Any) -> str:
        return str(root.kind).upper()

    @staticmethod
    def resolve_variant_id(root: Reward, info: Any) -> str | None:
        return root.variant_id or None

    @staticmethod
    def resolve_affordable(root: Reward, info: Any) -> bool:
        available = info.context.cache.get("available_points")
        if available is None:
            available = member_balances(info.context.member()).available
            info.context.cache["available_points"] = available
        return bool(root.points_cost <= available)


class RedemptionType(graphene.ObjectType):
    class Meta:
        name = "Redemption"

    id = graphene.ID(required=True)
    checkout_id = graphene.ID(required=True)
    points = graphene.Int(required=True)
    discount = graphene.Field(Money, required=True)
    status = graphene.Field(RedemptionStatusEnum, required=True)
    voucher_code = graphene.String()
    expires_at = graphene.DateTime()
    order_id = graphene.ID()
    points_returned = graphene.Int(required=True)
    reward = graphene.Field(RewardType)

    @staticmethod
    def resolve_id(root: Redemption, info: Any) -> str:
        return global_id("Redemption", root.pk)

    @staticmethod
    def resolve_status(root: Redemption, info: Any) -> Any:
        return RedemptionStatusEnum.get(str(getattr(root.status, "value", root.status)))

    @staticmethod
    def resolve_discount(root: Redemption, info: Any) -> dict[str, Any]:
        from saleor_loyalty.core.money import quantum

        return {"amount": Decimal(root.amount).quantize(quantum(root.currency)), "currency": root.currency}


class PointsEstimate(graphene.ObjectType):
    points = graphene.Int(required=True)
    exact_points = graphene.Decimal(required=True, description="Before rounding; fractions carry to later orders.")
    currency = graphene.String(required=True)
