"""The merchant's program settings and earning rules, and the per-order reconciliation state."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member


class ClawbackPolicy(models.TextChoices):
    NEGATIVE_BALANCE = "negative_balance", "Points already spent become a debt repaid from future points"
    WRITE_OFF = "write_off", "Points already spent are written off by the program"


class GuestOrderPolicy(models.TextChoices):
    EARN = "earn", "Earn"
    IGNORE = "ignore", "Do not earn"


class ExpiryPolicy(models.TextChoices):
    NONE = "none", "Points never expire"
    AFTER_EARNING = "after_earning", "Points expire a set number of days after they were earned"
    AFTER_INACTIVITY = "after_inactivity", "All points expire after a period without earning or redeeming"


class ProgramSettings(models.Model):
    """One per install; created with defaults on first use."""

    install = models.OneToOneField(Install, on_delete=models.PROTECT, related_name="program_settings")
    is_active = models.BooleanField(default=True)
    return_window_days = models.PositiveIntegerField(default=settings.LOYALTY_DEFAULT_RETURN_WINDOW_DAYS)
    expiry_policy = models.CharField(max_length=20, choices=ExpiryPolicy.choices, default=ExpiryPolicy.NONE)
    points_expire_after_days = models.PositiveIntegerField(null=True, blank=True)  # AFTER_EARNING
    inactivity_expiry_days = models.PositiveIntegerField(default=365)  # AFTER_INACTIVITY
    expiry_reminder_days = models.PositiveIntegerField(default=14)  # the reminder goes out this long before
    expiry_grace_days = models.PositiveIntegerField(default=0)  # points stay usable this long after the date
    clawback_policy = models.CharField(
        max_length=32, choices=ClawbackPolicy.choices, default=ClawbackPolicy.NEGATIVE_BALANCE
    )
    # A guest checkout typed with a registered customer's email: Saleor attaches the order to that customer.
    registered_email_guest_orders = models.CharField(
        max_length=16, choices=GuestOrderPolicy.choices, default=GuestOrderPolicy.EARN
    )
    # Orders by guests with no account: kept on a guest member, claimed when an account with that email
    # registers and confirms.
    guest_orders = models.CharField(max_length=16, choices=GuestOrderPolicy.choices, default=GuestOrderPolicy.EARN)
    # Earning for channels without a rule of their own: points per one unit of the order currency.
    default_points_per_unit = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(1))
    # Redemption: how long points stay held on a checkout before an abandoned redemption is voided.
    redemption_hold_minutes = models.PositiveIntegerField(default=24 * 60)
    # A refunded or cancelled order that was paid partly with points: give the points back, or refund money only.
    return_points_on_refund = models.BooleanField(default=True)
    # Whether the part of an order paid with points earns points too (off by default: earn on money paid).
    earn_on_redeemed_value = models.BooleanField(default=False)
    redemption_rate_limit_per_minute = models.PositiveIntegerField(default=10)
    # Earning events (0 = off).
    signup_bonus_points = models.PositiveIntegerField(default=0)
    first_order_bonus_points = models.PositiveIntegerField(default=0)
    birthday_bonus_points = models.PositiveIntegerField(default=0)
    # Customer metadata key holding the birthday ("YYYY-MM-DD" or "MM-DD").
    birthday_metadata_key = models.CharField(max_length=64, default="birthday")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "program_settings"

    def __str__(self) -> str:
        return f"program settings of install {self.install_id}"


class EarnRule(models.Model):
    """How a channel's orders in one currency earn points."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="earn_rules")
    channel_slug = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    points_per_unit = models.DecimalField(max_digits=12, decimal_places=4)
    include_tax = models.BooleanField(default=False)
    include_shipping = models.BooleanField(default=False)
    min_order_amount = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal(0))
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "program_earn_rule"
        constraints = [
            models.UniqueConstraint(fields=["install", "channel_slug", "currency"], name="earn_rule_unique"),
            models.CheckConstraint(condition=Q(points_per_unit__gte=0), name="earn_rule_rate_non_negative"),
            models.CheckConstraint(condition=Q(min_order_amount__gte=0), name="earn_rule_min_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_slug}/{self.currency}: {self.points_per_unit} pts per unit"


class RedemptionRule(models.Model):
    """What points are worth at checkout in one channel and currency, and the limits on spending them."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="redemption_rules")
    channel_slug = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    points_per_unit = models.PositiveIntegerField()  # points for one unit of currency off (e.g. 100 = $1)
    min_points = models.PositiveIntegerField(default=0)
    max_points_per_order = models.PositiveIntegerField(null=True, blank=True)
    max_percent_of_subtotal = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(100))
    step_points = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "program_redemption_rule"
        constraints = [
            models.UniqueConstraint(fields=["install", "channel_slug", "currency"], name="redemption_rule_unique"),
            models.CheckConstraint(condition=Q(points_per_unit__gt=0), name="redemption_rule_rate_positive"),
            models.CheckConstraint(condition=Q(step_points__gt=0), name="redemption_rule_step_positive"),
            models.CheckConstraint(
                condition=Q(max_percent_of_subtotal__gt=0, max_percent_of_subtotal__lte=100),
                name="redemption_rule_cap_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_slug}/{self.currency}: {self.points_per_unit} pts = 1 unit"


class Campaign(models.Model):
    """A time-boxed bonus: orders placed in the window earn ``multiplier`` × and/or a fixed bonus.

    Optionally limited to a channel, to products or categories (lines outside earn normally), and to tiers.
    Overlapping campaigns: the highest multiplier applies per line, fixed bonuses add up.
    """

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=255)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    multiplier = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal(1))
    fixed_bonus = models.PositiveIntegerField(default=0)
    channel_slug = models.CharField(max_length=255, blank=True)  # blank: every channel
    product_ids = models.JSONField(default=list, blank=True)
    category_ids = models.JSONField(default=list, blank=True)
    tiers = models.JSONField(default=list, blank=True)  # tier names; empty: everyone
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "program_campaign"
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="campaign_window"),
            models.CheckConstraint(condition=Q(multiplier__gte=1), name="campaign_multiplier_at_least_one"),
        ]
        indexes = [models.Index(fields=["install", "starts_at", "ends_at"], name="campaign_window_idx")]

    def __str__(self) -> str:
        return self.name


class EarningAction(models.Model):
    """A custom action a trusted server reports with ``recordEvent`` (review, social follow, newsletter...)."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="earning_actions")
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=255)
    points = models.PositiveIntegerField()
    max_per_period = models.PositiveIntegerField(null=True, blank=True)  # None: no cap
    period_days = models.PositiveIntegerField(default=30)
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "program_earning_action"
        constraints = [
            models.UniqueConstraint(fields=["install", "code"], name="earning_action_unique_code"),
            models.CheckConstraint(condition=Q(points__gt=0), name="earning_action_points_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.points} pts)"


class EarningEvent(models.Model):
    """One reported action: what was awarded for it (idempotent by the reporter's key)."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="earning_events")
    action = models.ForeignKey(EarningAction, on_delete=models.PROTECT, related_name="events")
    idempotency_key = models.CharField(max_length=255)
    points = models.PositiveIntegerField()
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "program_earning_event"
        constraints = [models.UniqueConstraint(fields=["install", "idempotency_key"], name="earning_event_unique_key")]
        indexes = [models.Index(fields=["member", "action", "occurred_at"], name="earning_event_cap")]

    def __str__(self) -> str:
        return f"{self.action_id} for member {self.member_id}"


class ServerApiKey(models.Model):
    """A key a merchant's own server uses to call ``recordEvent``. Only its SHA-256 is stored."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=255)
    prefix = models.CharField(max_length=16)  # shown to operators to tell keys apart
    key_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "program_server_api_key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class MultiplierTarget(models.TextChoices):
    PRODUCT = "product"
    CATEGORY = "category"
    VARIANT = "variant"


class EarnMultiplier(models.Model):
    """Lines of a product, variant or category earn ``multiplier`` × the rule's rate (the highest one wins)."""

    rule = models.ForeignKey(EarnRule, on_delete=models.CASCADE, related_name="multipliers")
    target = models.CharField(max_length=16, choices=MultiplierTarget.choices)
    saleor_id = models.CharField(max_length=255)
    multiplier = models.DecimalField(max_digits=8, decimal_places=4)

    class Meta:
        db_table = "program_earn_multiplier"
        constraints = [
            models.UniqueConstraint(fields=["rule", "target", "saleor_id"], name="earn_multiplier_unique"),
            models.CheckConstraint(condition=Q(multiplier__gte=0), name="earn_multiplier_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.target} {self.saleor_id} ×{self.multiplier}"


class OrderPlacement(models.TextChoices):
    UNKNOWN = "unknown"  # ORDER_CREATED not seen (yet)
    CUSTOMER = "customer"  # the order's own customer placed it, logged in
    GUEST = "guest"  # placed anonymously (guest checkout)
    STAFF_OR_APP = "staff_or_app"  # a staff user or an app created it (draft orders, imports)


class OrderAward(models.Model):
    """What the ledger holds for one Saleor order, and the newest order state it reflects.

    Reconciliation locks this row, computes what the order is worth now, and posts the difference; a payload
    older than ``state_updated_at`` is stale and changes nothing.
    """

    # Neither foreign key has an index of its own: ``order_award_unique`` starts with the install,
    # ``order_award_member_paid`` with the member (every order inserts and updates its award: fewer indexes to write).
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+", db_index=False)
    order_id = models.CharField(max_length=255)
    order_number = models.CharField(max_length=64, blank=True)
    member = models.ForeignKey(Member, null=True, on_delete=models.PROTECT, related_name="order_awards", db_index=False)
    channel_slug = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    rule = models.JSONField(null=True)  # the rule snapshot frozen at the first award
    placement = models.CharField(max_length=16, choices=OrderPlacement.choices, default=OrderPlacement.UNKNOWN)
    was_fully_paid = models.BooleanField(default=False)
    exact_points = models.DecimalField(max_digits=24, decimal_places=6, default=Decimal(0))
    points = models.BigIntegerField(default=0)  # integer points this order holds in the ledger now
    # Money the shopper paid for the order, net of refunds (0 if cancelled or never paid): tiers qualify on it.
    spend = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal(0))
    first_paid_at = models.DateTimeField(null=True)  # when the app first saw the order paid in full
    revision = models.PositiveIntegerField(default=0)  # bumps with every posting; part of idempotency keys
    state_updated_at = models.DateTimeField(null=True)
    # A redemption was captured for this order (its code was on it): only then are redemptions looked up by the
    # order's id (points returned on refunds, the points-paid part). Redemptions get an order id only there.
    has_redemption = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "program_order_award"
        constraints = [
            models.UniqueConstraint(fields=["install", "order_id"], name="order_award_unique"),
            models.CheckConstraint(condition=Q(exact_points__gte=0), name="order_award_exact_non_negative"),
            models.CheckConstraint(condition=Q(points__gte=0), name="order_award_points_non_negative"),
            models.CheckConstraint(condition=Q(spend__gte=0), name="order_award_spend_non_negative"),
        ]
        indexes = [
            models.Index(fields=["member", "first_paid_at"], name="order_award_member_paid"),
            # The nightly tier review reads every award paid in the window, and only these columns.
            models.Index(
                fields=["install", "first_paid_at"],
                include=["member", "currency", "spend", "points"],
                name="order_award_install_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_number or self.order_id}: {self.points} pts"


class SettingsChange(models.Model):
    """One change a merchant made to the program's configuration: who, when, and the values before and after.

    Append-only, like the ledger: the dashboard shows it as the program's change log. Changing a setting never
    rewrites history (an order keeps the rule it earned under, frozen on its award); this says what changed.
    """

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="settings_changes")
    subject = models.CharField(max_length=255)  # what was changed, e.g. "program" or "earn_rule:default/USD"
    actor = models.CharField(max_length=255)  # the staff user's email (or Saleor user id), or "operator"
    before = models.JSONField(default=dict)  # only the fields that changed
    after = models.JSONField(default=dict)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "program_settings_change"
        indexes = [models.Index(fields=["install", "-changed_at"], name="settings_change_by_install")]

    def __str__(self) -> str:
        return f"{self.subject} changed by {self.actor} at {self.changed_at}"


class ConfigVersion(models.Model):
    """The version of a store's configuration that event processing caches per process (``program.config``).

    Written only by PostgreSQL triggers (migration ``program.0010``): every INSERT, UPDATE or DELETE of the program
    settings, earn rules and their multipliers, campaigns and tier settings — by any writer, ORM ``update``, raw
    SQL or admin — sets its store's version to the next value of one sequence, in the writer's own transaction. A
    version is therefore never reused, and one that changed means the configuration may have. No foreign key: the
    triggers must not stop an install's deletion."""

    install_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField()

    class Meta:
        db_table = "program_config_version"

    def __str__(self) -> str:
        return f"configuration of install {self.install_id}: version {self.version}"
