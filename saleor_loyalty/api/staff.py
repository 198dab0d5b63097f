"""The staff schema, served at /dashboard/graphql/ for the dashboard extension's pages.

Apart from the storefront's schema: every field here needs the dashboard's app token (Saleor's ``thirdparty``
token for this app, verified against the store's keys) carrying the Saleor permission its domain declares;
shopper tokens never pass (``RequestContext.require_staff``).
"""

import graphene

from .catalog.mutations.manage import (
    create_campaign_field,
    create_reward_field,
    deactivate_campaign_field,
    deactivate_reward_field,
)
from .catalog.mutations.update_campaign import update_campaign_field
from .catalog.mutations.update_reward import update_reward_field
from .catalog.resolvers import (
    resolve_campaigns,
    resolve_catalog_rewards,
    resolve_search_categories,
    resolve_search_products,
    resolve_store_channels,
)
from .catalog.types import CatalogCampaign, CatalogReward, StoreChannel, StoreItem
from .customers.resolvers import resolve_customer_loyalty
from .customers.types import CustomerLoyalty
from .earning_actions.mutations.manage import (
    create_api_key_field,
    revoke_api_key_field,
    set_earning_action_field,
)
from .earning_actions.resolvers import resolve_api_keys, resolve_earning_actions
from .earning_actions.types import ApiKey, EarningAction
from .emails.mutations.update_email_settings import update_email_settings_field
from .emails.resolvers import resolve_email_preview, resolve_email_settings
from .emails.types import EmailKindEnum, EmailPreview, EmailSettings
from .memberships.mutations.archive_paid_plan import archive_paid_plan_field
from .memberships.mutations.create_paid_plan import create_paid_plan_field
from .memberships.mutations.update_membership_settings import update_membership_settings_field
from .memberships.mutations.update_paid_plan import update_paid_plan_field
from .memberships.resolvers import resolve_membership_settings, resolve_staff_paid_plans
from .memberships.types import MembershipSettingsType, PaidPlanSettings
from .orders.resolvers import resolve_order_loyalty
from .orders.types import OrderLoyalty
from .payments.mutations.connect_stripe import connect_stripe_field, disconnect_stripe_field
from .payments.resolvers import resolve_stripe_connection
from .payments.types import StripeConnection
from .points.mutations.adjust_points import adjust_points_field
from .program.mutations.set_earn_rule import deactivate_earn_rule_field, set_earn_rule_field
from .program.mutations.update_program_settings import update_program_settings_field
from .program.resolvers import resolve_earn_rules, resolve_program_settings, resolve_settings_changes
from .program.types import EarnRule, ProgramSettings, SettingsChange
from .rebates.mutations.create_rebate_program import create_rebate_program_field
from .rebates.mutations.update_rebate_program import update_rebate_program_field
from .rebates.resolvers import (
    resolve_customer_rebates,
    resolve_rebate_audit,
    resolve_rebate_periods,
    resolve_rebate_programs,
    resolve_rebate_totals,
)
from .rebates.types import CustomerRebates, RebateAudit, RebateProgramSettings, RebateTotals
from .referral_review.mutations.review_referral import approve_referral_field, reject_referral_field
from .referral_review.mutations.update_referral_program import update_referral_program_field
from .referral_review.resolvers import (
    resolve_referral_decisions,
    resolve_referral_funnel,
    resolve_referral_program,
    resolve_referrals_to_review,
    resolve_top_referrers,
)
from .referral_review.types import ReferralFunnel, ReferralProgramSettings, ReviewedReferral, TopReferrer
from .tiers_panel.mutations.pin_tier import pin_tier_field, unpin_tier_field
from .tiers_panel.mutations.set_tier import set_tier_field, update_tier_settings_field
from .tiers_panel.resolvers import (
    resolve_tier_movements,
    resolve_tier_review_preview,
    resolve_tier_settings,
    resolve_tiers,
)
from .tiers_panel.types import PanelTier, TierMovement, TierProgramSettings, TierReviewPreview


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
    email_settings = graphene.Field(
        EmailSettings, required=True, resolver=resolve_email_settings, description="Needs MANAGE_DISCOUNTS."
    )
    email_preview = graphene.Field(
        EmailPreview,
        required=True,
        kind=graphene.Argument(EmailKindEnum, required=True),
        resolver=resolve_email_preview,
        description="One kind of email rendered with the store's templates and sample data. Needs MANAGE_DISCOUNTS.",
    )
    catalog_rewards = graphene.List(
        graphene.NonNull(CatalogReward),
        required=True,
        resolver=resolve_catalog_rewards,
        description="The rewards catalog of every channel, active first. Needs MANAGE_DISCOUNTS.",
    )
    campaigns = graphene.List(
        graphene.NonNull(CatalogCampaign),
        required=True,
        resolver=resolve_campaigns,
        description="Bonus campaigns, active first, newest first. Needs MANAGE_DISCOUNTS.",
    )
    search_products = graphene.List(
        graphene.NonNull(StoreItem),
        required=True,
        search=graphene.String(required=True, description="Part of the name (at most 100 characters; empty: any)."),
        first=graphene.Int(default_value=20, description="At most 50."),
        resolver=resolve_search_products,
        description="The store's products matching a search, for the campaign form's picker. Needs MANAGE_DISCOUNTS.",
    )
    store_channels = graphene.List(
        graphene.NonNull(StoreChannel),
        required=True,
        resolver=resolve_store_channels,
        description="The store's channels (active first), for the channel pickers. Needs MANAGE_DISCOUNTS.",
    )
    search_categories = graphene.List(
        graphene.NonNull(StoreItem),
        required=True,
        search=graphene.String(required=True, description="Part of the name (at most 100 characters; empty: any)."),
        first=graphene.Int(default_value=20, description="At most 50."),
        resolver=resolve_search_categories,
        description="The store's categories matching a search, for the campaign form's picker. Needs MANAGE_DISCOUNTS.",
    )
    earning_actions = graphene.List(
        graphene.NonNull(EarningAction),
        required=True,
        resolver=resolve_earning_actions,
        description="Custom earning actions, active first. Needs MANAGE_DISCOUNTS.",
    )
    api_keys = graphene.List(
        graphene.NonNull(ApiKey),
        required=True,
        resolver=resolve_api_keys,
        description="Server API keys for recordEvent (never the keys themselves). Needs MANAGE_DISCOUNTS.",
    )
    tiers = graphene.List(
        graphene.NonNull(PanelTier),
        required=True,
        resolver=resolve_tiers,
        description="The tiers, lowest first, with their members now. Needs MANAGE_DISCOUNTS.",
    )
    tier_settings = graphene.Field(
        TierProgramSettings, required=True, resolver=resolve_tier_settings, description="Needs MANAGE_DISCOUNTS."
    )
    tier_movements = graphene.List(
        graphene.NonNull(TierMovement),
        required=True,
        weeks=graphene.Int(default_value=26, description="At most 104."),
        resolver=resolve_tier_movements,
        description="Upgrades and downgrades per week, oldest first. Needs MANAGE_DISCOUNTS.",
    )
    tier_review_preview = graphene.Field(
        TierReviewPreview,
        required=True,
        resolver=resolve_tier_review_preview,
        description="Who the next review would move if it ran now; changes nothing. Needs MANAGE_USERS.",
    )
    referral_program = graphene.Field(
        ReferralProgramSettings, required=True, resolver=resolve_referral_program, description="Needs MANAGE_DISCOUNTS."
    )
    referral_funnel = graphene.Field(
        ReferralFunnel,
        required=True,
        resolver=resolve_referral_funnel,
        description="Codes shared, sign-ups, first orders, rewarded (all time). Needs MANAGE_USERS.",
    )
    top_referrers = graphene.List(
        graphene.NonNull(TopReferrer),
        required=True,
        first=graphene.Int(default_value=10, description="At most 50."),
        resolver=resolve_top_referrers,
        description="Members with the most rewarded referrals. Needs MANAGE_USERS.",
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
    rebate_programs = graphene.List(
        graphene.NonNull(RebateProgramSettings),
        required=True,
        resolver=resolve_rebate_programs,
        description="Every channel's rebate programs, by channel and currency. Needs MANAGE_DISCOUNTS.",
    )
    rebate_periods = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        first=graphene.Int(default_value=24, description="At most 120."),
        resolver=resolve_rebate_periods,
        description='Periods with rebates ("2026-11", "2026-Q4"), newest first. Needs MANAGE_DISCOUNTS.',
    )
    rebate_totals = graphene.List(
        graphene.NonNull(RebateTotals),
        required=True,
        period=graphene.String(required=True, description='"2026-11" or "2026-Q4".'),
        refresh=graphene.Boolean(default_value=False, description="Audit the period now, not from its snapshot."),
        resolver=resolve_rebate_totals,
        description="A period's totals per program: accrued, reversed, paid, netted, written off, pending, payable. "
        "Needs MANAGE_DISCOUNTS.",
    )
    rebate_audit = graphene.Field(
        RebateAudit,
        required=True,
        period=graphene.String(required=True, description='"2026-11" or "2026-Q4".'),
        refresh=graphene.Boolean(default_value=False, description="Audit the period now, not from its snapshot."),
        resolver=resolve_rebate_audit,
        description="A period's totals from the rebate rows and from the ledger, compared to the minor unit; "
        "problems is empty when they agree. From the period's last audit while none of its rows changed since "
        "(checkedAt), else audited now. Needs MANAGE_DISCOUNTS.",
    )
    stripe_connection = graphene.Field(
        StripeConnection,
        resolver=resolve_stripe_connection,
        description="The store's Stripe connection (null: not connected). Needs MANAGE_DISCOUNTS.",
    )
    paid_plans = graphene.List(
        graphene.NonNull(PaidPlanSettings),
        required=True,
        resolver=resolve_staff_paid_plans,
        description="Every paid plan (tiers sold as Stripe subscriptions), on sale first, archived too, with their "
        "members. Needs MANAGE_DISCOUNTS.",
    )
    membership_settings = graphene.Field(
        MembershipSettingsType,
        required=True,
        resolver=resolve_membership_settings,
        description="Where Stripe Checkout may return shoppers. Needs MANAGE_DISCOUNTS.",
    )
    customer_rebates = graphene.Field(
        CustomerRebates,
        customer_id=graphene.ID(required=True, description="The customer's Saleor user id."),
        period=graphene.String(description="The statements' period (default: the newest with rebates)."),
        resolver=resolve_customer_rebates,
        description="A customer's rebates: progress, periods and statements (null: never a member). "
        "Needs MANAGE_USERS.",
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
    update_referral_program = update_referral_program_field
    approve_referral = approve_referral_field
    reject_referral = reject_referral_field
    set_tier = set_tier_field
    update_tier_settings = update_tier_settings_field
    pin_tier = pin_tier_field
    unpin_tier = unpin_tier_field
    update_email_settings = update_email_settings_field
    create_reward = create_reward_field
    update_reward = update_reward_field
    deactivate_reward = deactivate_reward_field
    create_campaign = create_campaign_field
    update_campaign = update_campaign_field
    deactivate_campaign = deactivate_campaign_field
    set_earning_action = set_earning_action_field
    create_api_key = create_api_key_field
    revoke_api_key = revoke_api_key_field
    adjust_points = adjust_points_field()
    create_rebate_program = create_rebate_program_field
    update_rebate_program = update_rebate_program_field
    connect_stripe = connect_stripe_field
    disconnect_stripe = disconnect_stripe_field
    create_paid_plan = create_paid_plan_field
    update_paid_plan = update_paid_plan_field
    archive_paid_plan = archive_paid_plan_field
    update_membership_settings = update_membership_settings_field


staff_schema = graphene.Schema(query=StaffQuery, mutation=StaffMutation)
