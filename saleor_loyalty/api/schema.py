"""The schema: shopper queries and the redemption mutations."""

from typing import Any

import graphene
from graphql import GraphQLError

from saleor_loyalty.members.models import Member
from saleor_loyalty.program.queries import estimate_for_checkout
from saleor_loyalty.redemption import saleor_calls
from saleor_loyalty.redemption.models import OPEN_STATUSES, Redemption, Reward
from saleor_loyalty.redemption.rewards import available_rewards
from saleor_loyalty.saleor.budget import SaleorCallBudgetExceeded
from saleor_loyalty.saleor.client import SaleorError
from saleor_loyalty.saleor.installs import active_install

from .context import RequestContext
from .mutations.adjust_points import adjust_points_field
from .mutations.cancel_redemption import cancel_redemption
from .mutations.record_event import record_event_field
from .mutations.redeem_points import redeem_points
from .mutations.redeem_reward import redeem_reward
from .referrals import ReferralMutations, ReferralQueries
from .tiers import TierMutations, TierQueries
from .types import LoyaltyMember, LoyaltyProgram, PointsEstimate, RedemptionType, RewardType, program_for


class Query(TierQueries, ReferralQueries, graphene.ObjectType):
    me = graphene.Field(LoyaltyMember, required=True, description="The signed-in shopper's loyalty account.")
    program = graphene.Field(
        LoyaltyProgram,
        required=True,
        channel=graphene.String(required=True),
        currency=graphene.String(required=True),
        description="The program's terms in a channel. Public: without a token, send the Saleor-Api-Url header.",
    )
    estimate_points = graphene.Field(
        PointsEstimate,
        required=True,
        checkout_id=graphene.ID(required=True),
        description="What your checkout would earn if paid now.",
    )
    rewards = graphene.List(
        graphene.NonNull(RewardType),
        required=True,
        channel=graphene.String(required=True),
        description="Rewards available in a channel, with whether you can afford each.",
    )
    active_redemption = graphene.Field(
        RedemptionType,
        checkout_id=graphene.ID(required=True),
        description="The points currently redeemed on your checkout, if any.",
    )

    @staticmethod
    def resolve_me(root: Any, info: Any) -> Member:
        context: RequestContext = info.context
        return context.member()

    @staticmethod
    def resolve_program(root: Any, info: Any, channel: str, currency: str) -> Any:
        shopper = info.context.shopper
        install = shopper.install if shopper else active_install(info.context.request.headers.get("Saleor-Api-Url"))
        if install is None:
            raise GraphQLError(
                "send a shopper token, or the Saleor-Api-Url of a store using this app",
                extensions={"code": "UNAUTHENTICATED"},
            )
        if len(currency) != 3 or not currency.isalpha():
            raise GraphQLError("currency must be an ISO 4217 code", extensions={"code": "INVALID"})
        return program_for(install, channel, currency.upper())

    @staticmethod
    def resolve_estimate_points(root: Any, info: Any, checkout_id: str) -> Any:
        shopper = info.context.require_shopper()
        try:
            checkout = saleor_calls.shopper_checkout(shopper, checkout_id)
        except SaleorCallBudgetExceeded as exc:
            raise GraphQLError(str(exc), extensions={"code": "TOO_MANY_SALEOR_CALLS"}) from exc
        except SaleorError as exc:
            raise GraphQLError(f"could not read the checkout: {exc}", extensions={"code": "SALEOR_ERROR"}) from exc
        if checkout is None or checkout.user_id != shopper.user_id:
            raise GraphQLError("no such checkout for this shopper", extensions={"code": "NOT_FOUND"})
        return estimate_for_checkout(
            shopper.install,
            channel_slug=checkout.channel_slug,
            currency=checkout.currency,
            lines=checkout.lines,
            total_gross=checkout.total_gross,
            total_net=checkout.total_net,
            shipping_gross=checkout.shipping_gross,
            shipping_net=checkout.shipping_net,
        )

    @staticmethod
    def resolve_rewards(root: Any, info: Any, channel: str) -> list[Reward]:
        shopper = info.context.require_shopper()
        return list(available_rewards(shopper.install, channel))

    @staticmethod
    def resolve_active_redemption(root: Any, info: Any, checkout_id: str) -> Redemption | None:
        member = info.context.member()
        return Redemption.objects.filter(member=member, checkout_id=checkout_id, status__in=OPEN_STATUSES).first()


class Mutation(TierMutations, ReferralMutations, graphene.ObjectType):
    redeem_points = redeem_points
    redeem_reward = redeem_reward
    cancel_redemption = cancel_redemption
    record_event = record_event_field
    adjust_points = adjust_points_field("Use adjustPoints on the staff endpoint, /dashboard/graphql/.")


schema = graphene.Schema(query=Query, mutation=Mutation, auto_camelcase=True)
