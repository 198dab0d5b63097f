"""What the order widget shows: points earned, spent and clawed back, the rule behind them, the transfers."""

import graphene

from ..points.types import PointsActivity


class OrderLoyalty(graphene.ObjectType):
    """One order in the loyalty program (from ``program.queries.OrderLoyalty``)."""

    order_id = graphene.ID(required=True)
    order_number = graphene.String(required=True)
    customer_id = graphene.ID(description="The Saleor customer who earned, if any (guests: null).")
    customer_email = graphene.String()
    points = graphene.Int(required=True, description="What the order holds in the ledger now.")
    earned = graphene.Int(required=True, description="Points it ever earned.")
    clawed_back = graphene.Int(required=True, description="Taken back after refunds or cancellation.")
    redeemed = graphene.Int(required=True, description="Points spent on it as a discount.")
    spend = graphene.Decimal(required=True, description="Money paid, net of refunds: what tiers count.")
    placement = graphene.String(required=True, description="How it was placed: customer, guest, unknown.")
    rule = graphene.JSONString(
        description="The rule frozen at its first award: rate, tax and shipping, tier multiplier, campaigns."
    )
    activity = graphene.List(graphene.NonNull(PointsActivity), required=True, description="Oldest first.")

    @staticmethod
    def resolve_customer_id(root: object, info: object) -> str | None:
        member = getattr(root, "member", None)
        return member.saleor_user_id if member is not None else None

    @staticmethod
    def resolve_customer_email(root: object, info: object) -> str | None:
        member = getattr(root, "member", None)
        return member.email if member is not None else None
