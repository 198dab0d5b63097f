"""Starting a paid membership: a Stripe Checkout Session in subscription mode for the signed-in shopper.

The member is always the caller's (the storefront API passes the shopper's own member; nothing names another).
The shopper's Stripe customer is made once and kept on their ``Membership`` (created here, ``incomplete``);
the session carries who and what in ``client_reference_id`` and ``metadata`` — and so does the subscription it
makes (``subscription_data.metadata``), so every later event names the membership even when it arrives before
``checkout.session.completed``. Nothing is granted here: only Stripe's signed webhooks grant (``stripe_events``).
"""

import secrets
from dataclasses import dataclass

import stripe
from django.db import IntegrityError, transaction
from stripe.params import CustomerCreateParams

from saleor_loyalty.members import actions as members
from saleor_loyalty.members.models import Member
from saleor_loyalty.payments.client import StripeNotConnected, StripeOutcomeUnknown, classify, stripe_client
from saleor_loyalty.payments.refunds import stripe_idempotency_key

from .configuration import InvalidReturnUrl, check_return_url
from .models import Membership, MembershipStatus, PaidPlan
from .state import METADATA_INSTALL, METADATA_MEMBER, METADATA_PLAN

MAX_KEY = 100


class MembershipError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True)
class CheckoutStarted:
    session_id: str
    url: str
    membership: Membership


def start_membership(
    member: Member,
    plan_id: int,
    *,
    success_url: str,
    cancel_url: str,
    email: str = "",
    idempotency_key: str | None = None,
) -> CheckoutStarted:
    """A Checkout Session URL for ``member`` to subscribe to the plan. Raises ``MembershipError``."""
    member = members.current(member)
    install = member.install
    plan = PaidPlan.objects.select_related("tier").filter(install=install, pk=plan_id, is_active=True).first()
    if plan is None:
        raise MembershipError("NOT_FOUND", "no such plan", "plan")
    try:
        check_return_url(install, success_url, "successUrl")
        check_return_url(install, cancel_url, "cancelUrl")
    except InvalidReturnUrl as exc:
        raise MembershipError("INVALID_URL", exc.message, exc.field) from exc
    key = (idempotency_key or "").strip() or secrets.token_urlsafe(16)
    if len(key) > MAX_KEY:
        raise MembershipError("INVALID", f"idempotencyKey is at most {MAX_KEY} characters", "idempotencyKey")
    membership = _membership(member, plan)
    try:
        client = stripe_client(install)
    except StripeNotConnected as exc:
        raise MembershipError("NOT_AVAILABLE", "the store does not sell memberships", "plan") from exc
    metadata = {METADATA_INSTALL: str(install.pk), METADATA_MEMBER: str(member.pk), METADATA_PLAN: str(plan.pk)}
    try:
        with transaction.atomic():
            row = Membership.objects.select_for_update().get(pk=membership.pk)  # one customer per member
            if row.status in (MembershipStatus.ACTIVE, MembershipStatus.PAST_DUE):
                # a canceled one may start again (its paid period still runs until the new one is paid)
                raise MembershipError("ALREADY_MEMBER", "you already have a membership", "plan")
            if not row.stripe_customer_id:
                params: CustomerCreateParams = {"metadata": metadata}
                if email or member.email:
                    params["email"] = email or member.email
                customer = client.v1.customers.create(
                    params=params,
                    options={"idempotency_key": stripe_idempotency_key(install, f"membership-customer:{member.pk}")},
                )
                row.stripe_customer_id = customer.id
                row.save(update_fields=["stripe_customer_id", "updated_at"])
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": row.stripe_customer_id,
                "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "client_reference_id": f"loyalty-{install.pk}-{member.pk}",
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
            },
            options={
                "idempotency_key": stripe_idempotency_key(install, f"membership-checkout:{member.pk}:{plan.pk}:{key}")
            },
        )
    except stripe.StripeError as exc:
        failure = classify(exc)
        code = "STRIPE_UNAVAILABLE" if isinstance(failure, StripeOutcomeUnknown) else "STRIPE_REFUSED"
        raise MembershipError(code, "Stripe could not start the checkout; try again", "plan") from exc
    Membership.objects.filter(pk=row.pk).update(checkout_session_id=session.id)
    return CheckoutStarted(session_id=session.id, url=str(session.url), membership=row)


def _membership(member: Member, plan: PaidPlan) -> Membership:
    try:
        with transaction.atomic():
            membership, _ = Membership.objects.get_or_create(
                install_id=member.install_id, member=member, defaults={"plan": plan}
            )
    except IntegrityError:
        membership = Membership.objects.get(install_id=member.install_id, member=member)
    return membership
