"""The reward catalog: what a reward costs, whether this shopper may take it now, and the voucher it becomes."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from saleor_loyalty.core.money import quantum
from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member

from .errors import RedemptionError
from .models import OPEN_STATUSES, Redemption, RedemptionStatus, Reward, RewardKind
from .saleor_calls import CheckoutInfo, VoucherSpec

COUNTED_STATUSES = (RedemptionStatus.PLACING, RedemptionStatus.ACTIVE, RedemptionStatus.CAPTURED)


@dataclass(frozen=True)
class Offer:
    reward: Reward
    points: int
    value: Decimal  # what the shopper saves on this checkout (best estimate for free products and shipping)
    spec: VoucherSpec


def available_rewards(install: Install, channel_slug: str) -> QuerySet[Reward]:
    now = timezone.now()
    return (
        Reward.objects.filter(install=install, channel_slug=channel_slug, is_active=True)
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .order_by("points_cost", "pk")
    )


def catalog(install: Install) -> list[Reward]:
    """Every reward of the store, as staff manage them: live ones first, by channel and cost."""
    return list(Reward.objects.filter(install=install).order_by("-is_active", "channel_slug", "points_cost"))


def find_reward(install: Install, reward_id: int) -> Reward | None:
    return Reward.objects.filter(install=install, pk=reward_id).first()


def open_redemption(member: Member, checkout_id: str) -> Redemption | None:
    """The redemption still open on the member's checkout (at most one is)."""
    return Redemption.objects.filter(member=member, checkout_id=checkout_id, status__in=OPEN_STATUSES).first()


def times_taken(member: Member, reward: Reward) -> int:
    return Redemption.objects.filter(member=member, reward=reward, status__in=COUNTED_STATUSES).count()


def check_limit(member: Member, reward: Reward, replacing_checkout_id: str | None = None) -> None:
    """Refuse a reward taken as often as allowed (an open redemption about to be replaced does not count)."""
    if reward.per_shopper_limit is None:
        return
    taken = times_taken(member, reward)
    if replacing_checkout_id is not None:
        taken -= Redemption.objects.filter(
            member=member,
            reward=reward,
            checkout_id=replacing_checkout_id,
            status__in=(RedemptionStatus.PLACING, RedemptionStatus.ACTIVE),
        ).count()
    if taken >= reward.per_shopper_limit:
        raise RedemptionError("LIMIT_REACHED", "this reward was already taken as often as allowed", "rewardId")


def reward_offer(install: Install, member: Member, checkout: CheckoutInfo, reward_id: int) -> Offer:
    reward = available_rewards(install, checkout.channel_slug).filter(pk=reward_id).first()
    if reward is None:
        raise RedemptionError("NOT_FOUND", "no such reward is available in this channel now", "rewardId")
    check_limit(member, reward, replacing_checkout_id=checkout.id)
    places = quantum(checkout.currency)
    if reward.kind == RewardKind.FIXED_AMOUNT:
        value = min(Decimal(reward.value or 0), checkout.subtotal).quantize(places)
        spec = VoucherSpec(type="ENTIRE_ORDER", value_type="FIXED", value=value)
    elif reward.kind == RewardKind.PERCENTAGE:
        percent = Decimal(reward.value or 0)
        value = (checkout.subtotal * percent / 100).quantize(places)
        if reward.max_amount is not None and value > reward.max_amount:
            # Saleor's percentage vouchers have no cap: a capped percentage becomes a fixed amount.
            value = Decimal(reward.max_amount).quantize(places)
            spec = VoucherSpec(type="ENTIRE_ORDER", value_type="FIXED", value=value)
        else:
            spec = VoucherSpec(type="ENTIRE_ORDER", value_type="PERCENTAGE", value=percent)
    elif reward.kind == RewardKind.FREE_SHIPPING:
        value = checkout.shipping_gross
        spec = VoucherSpec(type="SHIPPING", value_type="PERCENTAGE", value=Decimal(100))
    else:
        line = next((ln for ln in checkout.lines if ln.variant_id == reward.variant_id), None)
        if line is None:
            raise RedemptionError("INVALID", "add the reward's product to the checkout first", "rewardId")
        value = line.unit_gross.quantize(places)
        spec = VoucherSpec(
            type="SPECIFIC_PRODUCT", value_type="PERCENTAGE", value=Decimal(100), variant_ids=(reward.variant_id,)
        )
    if value <= 0 and reward.kind in (RewardKind.FIXED_AMOUNT, RewardKind.PERCENTAGE):
        raise RedemptionError("INVALID", "this reward is worth nothing on this checkout", "rewardId")
    return Offer(reward=reward, points=reward.points_cost, value=value, spec=spec)
