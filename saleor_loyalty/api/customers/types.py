"""What the customer widget shows: balances, pending and expiring points, activity, tier and progress."""

from typing import Any

import graphene

from saleor_loyalty.ledger.queries import MemberAccount
from saleor_loyalty.tiers.queries import TierStatus, tier_status

from ..points.types import LoyaltyMember
from ..tiers.types import MyTier


class CustomerLoyalty(graphene.ObjectType):
    """A customer's loyalty account as staff see it."""

    account = graphene.Field(LoyaltyMember, required=True, description="Balances, pending points, activity.")
    tier = graphene.Field(MyTier, required=True, description="Tier, progress to the next one and tier history.")

    @staticmethod
    def resolve_account(root: MemberAccount, info: Any) -> MemberAccount:
        return root

    @staticmethod
    def resolve_tier(root: MemberAccount, info: Any) -> TierStatus:
        return tier_status(root.member)
