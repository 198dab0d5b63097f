"""GraphQL types of the program's settings and their change log."""

import graphene

from saleor_loyalty.change_log.descriptions import DescribedChange
from saleor_loyalty.program import models
from saleor_loyalty.program.models import ClawbackPolicy, ExpiryPolicy, GuestOrderPolicy

from ..core.ids import global_id

ExpiryPolicyEnum = graphene.Enum.from_enum(ExpiryPolicy, description="When points expire.")
ClawbackPolicyEnum = graphene.Enum.from_enum(ClawbackPolicy, description="What a refund of spent points does.")
GuestOrderPolicyEnum = graphene.Enum.from_enum(GuestOrderPolicy, description="Whether such orders earn.")


class ProgramSettings(graphene.ObjectType):
    """The store's loyalty program settings. Changes apply from now on: orders keep the rule they earned under."""

    is_active = graphene.Boolean(required=True, description="Off: nothing new is earned; balances stay spendable.")
    return_window_days = graphene.Int(required=True, description="Points stay pending this long after payment.")
    expiry_policy = graphene.Field(ExpiryPolicyEnum, required=True)
    points_expire_after_days = graphene.Int(description="With AFTER_EARNING: days from earning to expiry.")
    inactivity_expiry_days = graphene.Int(required=True, description="With AFTER_INACTIVITY: days without activity.")
    expiry_reminder_days = graphene.Int(required=True, description="The reminder email goes out this long before.")
    expiry_grace_days = graphene.Int(required=True, description="Points stay usable this long after their date.")
    clawback_policy = graphene.Field(ClawbackPolicyEnum, required=True)
    registered_email_guest_orders = graphene.Field(
        GuestOrderPolicyEnum, required=True, description="Guest checkouts typed with a registered customer's email."
    )
    guest_orders = graphene.Field(GuestOrderPolicyEnum, required=True, description="Guests with no account.")
    default_points_per_unit = graphene.Decimal(
        required=True, description="Points per currency unit where a channel has no earn rule of its own."
    )
    redemption_hold_minutes = graphene.Int(required=True, description="Abandoned redemptions are voided after.")
    return_points_on_refund = graphene.Boolean(required=True)
    earn_on_redeemed_value = graphene.Boolean(required=True, description="Whether the points-paid part earns.")
    redemption_rate_limit_per_minute = graphene.Int(required=True)
    signup_bonus_points = graphene.Int(required=True)
    first_order_bonus_points = graphene.Int(required=True)
    birthday_bonus_points = graphene.Int(required=True)
    birthday_metadata_key = graphene.String(required=True, description="Customer metadata key with the birthday.")
    updated_at = graphene.DateTime(required=True)


class ProgramSettingsInput(graphene.InputObjectType):
    """Only the fields given change; the rest stay as they are."""

    is_active = graphene.Boolean()
    return_window_days = graphene.Int()
    expiry_policy = graphene.InputField(ExpiryPolicyEnum)
    points_expire_after_days = graphene.Int(description="null clears it (allowed unless AFTER_EARNING).")
    inactivity_expiry_days = graphene.Int()
    expiry_reminder_days = graphene.Int()
    expiry_grace_days = graphene.Int()
    clawback_policy = graphene.InputField(ClawbackPolicyEnum)
    registered_email_guest_orders = graphene.InputField(GuestOrderPolicyEnum)
    guest_orders = graphene.InputField(GuestOrderPolicyEnum)
    default_points_per_unit = graphene.Decimal()
    redemption_hold_minutes = graphene.Int()
    return_points_on_refund = graphene.Boolean()
    earn_on_redeemed_value = graphene.Boolean()
    redemption_rate_limit_per_minute = graphene.Int()
    signup_bonus_points = graphene.Int()
    first_order_bonus_points = graphene.Int()
    birthday_bonus_points = graphene.Int()
    birthday_metadata_key = graphene.String()


class SettingsChangeValue(graphene.ObjectType):
    """One changed value, labelled and written out as the dashboard shows it."""

    field = graphene.String(required=True, description="Its key in `before` and `after`.")
    label = graphene.String(required=True, description='What the dashboard calls it, e.g. "Return window (days)".')
    before = graphene.String(
        description="The value before, as text (choices by their label, names instead of codes); null: none. "
        "With isDateTime: an ISO 8601 date-time, to show in the reader's locale."
    )
    after = graphene.String(description="The value after, likewise.")
    is_date_time = graphene.Boolean(required=True, description="`before` and `after` are ISO 8601 date-times.")


class SettingsChange(graphene.ObjectType):
    """One change to the program's configuration: who made it, when, and the changed values before and after."""

    id = graphene.ID(required=True)
    subject = graphene.String(required=True, description='What changed, e.g. "program" or "campaign:3".')
    title = graphene.String(
        required=True, description='What changed, as a merchant reads it, e.g. "Program settings", "Campaign Summer".'
    )
    actor = graphene.String(required=True, description="The staff user (email) who made the change.")
    before = graphene.JSONString(required=True, description="The changed settings' values before (raw).")
    after = graphene.JSONString(required=True, description="The same settings' values after (raw).")
    values = graphene.List(
        graphene.NonNull(SettingsChangeValue),
        required=True,
        description="The changed values, labelled and as text; a value empty before and after is left out.",
    )
    changed_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_id(root: DescribedChange, info: object) -> str:
        return global_id("SettingsChange", root.pk)


MultiplierTargetEnum = graphene.Enum.from_enum(models.MultiplierTarget, description="What a multiplier applies to.")


class EarnMultiplier(graphene.ObjectType):
    """Lines of a product, variant or category earn ``multiplier`` times the rule's rate (the highest one wins)."""

    target = graphene.Field(MultiplierTargetEnum, required=True)
    saleor_id = graphene.ID(required=True, description="The product's, variant's or category's Saleor id.")
    multiplier = graphene.Decimal(required=True)


class EarnRule(graphene.ObjectType):
    """How a channel's orders in one currency earn points."""

    channel = graphene.String(required=True, description="The channel's slug.")
    currency = graphene.String(required=True)
    points_per_unit = graphene.Decimal(required=True, description="Points per one unit of the currency.")
    includes_tax = graphene.Boolean(required=True)
    includes_shipping = graphene.Boolean(required=True)
    min_order_amount = graphene.Decimal(required=True, description="Smaller orders earn nothing.")
    is_active = graphene.Boolean(required=True, description="Off: the channel earns by the program's default rate.")
    multipliers = graphene.List(graphene.NonNull(EarnMultiplier), required=True)

    @staticmethod
    def resolve_channel(root: models.EarnRule, info: object) -> str:
        return root.channel_slug

    @staticmethod
    def resolve_includes_tax(root: models.EarnRule, info: object) -> bool:
        return root.include_tax

    @staticmethod
    def resolve_includes_shipping(root: models.EarnRule, info: object) -> bool:
        return root.include_shipping

    @staticmethod
    def resolve_multipliers(root: models.EarnRule, info: object) -> list[models.EarnMultiplier]:
        return list(root.multipliers.all())


class EarnMultiplierInput(graphene.InputObjectType):
    target = graphene.InputField(MultiplierTargetEnum, required=True)
    saleor_id = graphene.ID(required=True)
    multiplier = graphene.Decimal(required=True)


class EarnRuleInput(graphene.InputObjectType):
    """A channel's whole rule: saving replaces what the channel had (multipliers too, when given)."""

    channel = graphene.String(required=True, description="The channel's slug.")
    currency = graphene.String(required=True, description="ISO 4217, e.g. USD.")
    points_per_unit = graphene.Decimal(required=True)
    includes_tax = graphene.Boolean(default_value=False)
    includes_shipping = graphene.Boolean(default_value=False)
    min_order_amount = graphene.Decimal(description="Smaller orders earn nothing (default 0).")
    multipliers = graphene.List(graphene.NonNull(EarnMultiplierInput), description="Left out: keep them.")


# -- the program's terms as storefronts read them (``program``) --


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
