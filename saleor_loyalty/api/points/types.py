"""The points account as shoppers (``me``) and staff (the customer widget) read it."""

from typing import Any

import graphene
from graphql import GraphQLError

from saleor_loyalty.ledger.history import member_activity
from saleor_loyalty.ledger.queries import Balances, MemberAccount, member_balances
from saleor_loyalty.members.models import Member
from saleor_loyalty.program import queries as program_queries

from ..core.ids import from_global_id, global_id
from ..core.types import MAX_PAGE, PageInfo


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


class PointsEstimate(graphene.ObjectType):
    points = graphene.Int(required=True)
    exact_points = graphene.Decimal(required=True, description="Before rounding; fractions carry to later orders.")
    currency = graphene.String(required=True)
