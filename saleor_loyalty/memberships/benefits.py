"""A paid period's benefits: recorded once, then issued as single-use Saleor vouchers.

``record_period`` runs inside the webhook's transaction: one ``MembershipBenefit`` row per benefit of the plan,
unique by ``<subscription>:<period start>:<index>``, each with its voucher code chosen now — so every code the app
will ever give Saleor is on record first, and a repeated or reordered event records nothing more. After the commit
``issue`` makes the voucher (``redemption.saleor_calls``: the same calls redemptions use) and lists it in the
benefit's channel, valid until the period ends. A lost answer is retried with the same code: Saleor refuses a code
twice, so a retry that finds its code taken looks the voucher up by code instead of making a second one.
"""

import logging
import secrets
from datetime import datetime
from decimal import Decimal

from celery import shared_task
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from saleor_loyalty.redemption import saleor_calls
from saleor_loyalty.saleor.client import SaleorError

from .models import BenefitKind, BenefitStatus, Membership, MembershipBenefit

logger = logging.getLogger(__name__)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_PREFIX = "MEMBER-"
MAX_ATTEMPTS = 8


def new_code() -> str:
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))


def period_key(subscription_id: str, period_start: datetime, index: int) -> str:
    return f"{subscription_id}:{int(period_start.timestamp())}:{index}"


def record_period(membership: Membership) -> list[int]:
    """Record the current period's benefits (once); their vouchers are issued after the commit. Returns new ids."""
    start, end = membership.current_period_start, membership.current_period_end
    if start is None or end is None or not membership.subscription_id:
        return []
    created: list[int] = []
    for index, spec in enumerate(membership.plan.benefits):
        key = period_key(membership.subscription_id, start, index)
        if MembershipBenefit.objects.filter(membership=membership, key=key).exists():
            continue
        kind = str(spec["kind"])
        value = Decimal(100) if kind == BenefitKind.FREE_SHIPPING else Decimal(str(spec["value"]))
        try:
            with transaction.atomic():
                benefit = MembershipBenefit.objects.create(
                    install_id=membership.install_id,
                    membership=membership,
                    key=key,
                    subscription_id=membership.subscription_id,
                    period_start=start,
                    period_end=end,
                    kind=kind,
                    channel_id=str(spec["channel_id"]),
                    value=value,
                    code=new_code(),
                )
        except IntegrityError:
            continue  # recorded concurrently
        created.append(benefit.pk)
    if created:
        ids = list(created)

        def issue_after_commit() -> None:
            _enqueue(ids)

        transaction.on_commit(issue_after_commit, robust=True)
    return created


def _enqueue(ids: list[int]) -> None:
    for benefit_id in ids:
        try:
            issue_membership_benefit.delay(benefit_id)
        except Exception:  # a broker down: the sweep issues it
            logger.warning("membership benefit not enqueued; the sweep will issue it", exc_info=True)


def issue(benefit_id: int) -> bool:
    """Make the benefit's voucher in Saleor. True once it exists; False if it is not pending (or Saleor failed:
    recorded, retried by the sweep up to ``MAX_ATTEMPTS``)."""
    with transaction.atomic():
        benefit = (
            MembershipBenefit.objects.select_for_update(skip_locked=True)
            .select_related("install", "membership__plan")
            .filter(pk=benefit_id, status=BenefitStatus.PENDING)
            .first()
        )
        if benefit is None:
            return False
        MembershipBenefit.objects.filter(pk=benefit.pk).update(attempts=F("attempts") + 1)
    install = benefit.install
    spec = saleor_calls.VoucherSpec(
        type="SHIPPING" if benefit.kind == BenefitKind.FREE_SHIPPING else "ENTIRE_ORDER",
        value_type="PERCENTAGE" if benefit.kind == BenefitKind.FREE_SHIPPING else "FIXED",
        value=benefit.value,
    )
    try:
        voucher_id = benefit.voucher_id or _create(benefit, spec)
        MembershipBenefit.objects.filter(pk=benefit.pk).update(voucher_id=voucher_id)
        saleor_calls.list_voucher_in_channel(
            install, voucher_id=voucher_id, channel_id=benefit.channel_id, value=benefit.value
        )
    except SaleorError as exc:
        attempts = benefit.attempts + 1
        status = BenefitStatus.FAILED if attempts >= MAX_ATTEMPTS else BenefitStatus.PENDING
        MembershipBenefit.objects.filter(pk=benefit.pk).update(status=status, last_error=str(exc)[:2000])
        logger.warning("membership benefit not issued", extra={"data": {"benefit": benefit.pk, "attempts": attempts}})
        return False
    MembershipBenefit.objects.filter(pk=benefit.pk, status=BenefitStatus.PENDING).update(
        status=BenefitStatus.ISSUED, issued_at=timezone.now(), last_error=""
    )
    logger.info("membership benefit issued", extra={"data": {"benefit": benefit.pk}})
    return True


def _create(benefit: MembershipBenefit, spec: saleor_calls.VoucherSpec) -> str:
    name = f"Membership {benefit.membership.plan.name}: {benefit.get_kind_display()} (#{benefit.pk})"
    try:
        return saleor_calls.create_voucher(
            benefit.install,
            spec=spec,
            code=benefit.code,
            name=name,
            channel_id=benefit.channel_id,
            ends_at=benefit.period_end,
        )
    except SaleorError as exc:
        if not any(str(e.get("code")) == "UNIQUE" for e in (exc.errors or [])):
            raise
        found, _ = saleor_calls.search_vouchers(benefit.install, search=benefit.code)
        voucher = next((v for v in found if benefit.code in v.codes), None)
        if voucher is None:
            raise
        return voucher.id  # an earlier attempt made it and its answer was lost


def issue_pending(limit: int = 200) -> int:
    """The sweep: issue benefits still pending (a worker lost, Saleor down), oldest first."""
    pending = MembershipBenefit.objects.filter(status=BenefitStatus.PENDING).order_by("pk")
    return sum(issue(pk) for pk in list(pending.values_list("pk", flat=True)[:limit]))


@shared_task(name="saleor_loyalty.memberships.benefits.issue_membership_benefit")
def issue_membership_benefit(benefit_id: int) -> bool:
    """Make one benefit's voucher (after the webhook that recorded it committed)."""
    return issue(benefit_id)
