"""The staff schema, served at /dashboard/graphql/ for the dashboard extension's pages.

Apart from the storefront's schema: every field here needs the dashboard's app token (Saleor's ``thirdparty``
token for this app, verified against the store's keys) carrying the Saleor permission its domain declares;
shopper tokens never pass (``RequestContext.require_staff``).
"""

import graphene

from .customers.resolvers import resolve_customer_loyalty
from .customers.types import CustomerLoyalty
from .mutations.adjust_points import adjust_points_field
from .orders.resolvers import resolve_order_loyalty
from .orders.types import OrderLoyalty
from .program.mutations.set_earn_rule import deactivate_earn_rule_field, set_earn_rule_field
from .program.mutations.update_program_settings import update_program_settings_field
from .program.resolvers import resolve_earn_rules, resolve_program_settings, resolve_settings_changes
from .program.types import EarnRule, ProgramSettings, SettingsChange
from .referral_review.mutations.review_referral import approve_referral_field, reject_referral_field
from .referral_review.resolvers import resolve_referral_decisions, resolve_referrals_to_review
from .referral_review.types import ReviewedReferral


class StaffQuery(graphene.ObjectType):
    program_settings = graphene.Field(
        ProgramSettings, required=True, resolver=resolve_program_settings, description="Needs MANAGE_DISCOUNTS."
    )
    settings_changes = graphene.List(
        graphene.NonNull(SettingsChange),
        required=True,
        first=graphene.Int(default_value=50, description="At most 100."),
        resolver=resolve_settings_changes,
        description="The program's change log, newest first. Needs MANAGE_DISCOUNTS.",
    )
    earn_rules = graphene.List(
        graphene.NonNull(EarnRule),
        required=True,
        resolver=resolve_earn_rules,
        description="Every channel's earn rule, active first. Needs MANAGE_DISCOUNTS.",
    )
    referrals_to_review = graphene.List(
        graphene.NonNull(ReviewedReferral),
        required=True,
        first=graphene.Int(default_value=50, description="At most 100."),
        resolver=resolve_referrals_to_review,
        description="Referrals held by the fraud checks, oldest first. Needs MANAGE_USERS.",
    )
    referral_decisions = graphene.List(
        graphene.NonNull(ReviewedReferral),
        required=True,
        first=graphene.Int(default_value=50, description="At most 100."),
        resolver=resolve_referral_decisions,
        description="Reviewers' decisions, newest first. Needs MANAGE_USERS.",
    )
    customer_loyalty = graphene.Field(
        CustomerLoyalty,
        customer_id=graphene.ID(required=True, description="The customer's Saleor user id."),
        resolver=resolve_customer_loyalty,
        description="A customer's loyalty account (null before their first points). Needs MANAGE_USERS.",
    )
    order_loyalty = graphene.Field(
        OrderLoyalty,
        order_id=graphene.ID(required=True, description="The order's Saleor id."),
        resolver=resolve_order_loyalty,
        description="What an order earned, spent and had clawed back, and why (null: never seen). Needs MANAGE_ORDERS.",
    )


class StaffMutation(graphene.ObjectType):
    update_program_settings = update_program_settings_field
    set_earn_rule = set_earn_rule_field
    deactivate_earn_rule = deactivate_earn_rule_field
    approve_referral = approve_referral_field
    reject_referral = reject_referral_field
    adjust_points = adjust_points_field()


staff_schema = graphene.Schema(query=StaffQuery, mutation=StaffMutation)
