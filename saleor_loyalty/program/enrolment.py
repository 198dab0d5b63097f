"""Customers joining the program, and guests' points finding their owner.

A customer is enrolled on CUSTOMER_CREATED (or their first order). Points a guest earned under the same email
are claimed only once the account is confirmed (``isConfirmed`` on CUSTOMER_CREATED, or ACCOUNT_CONFIRMED):
anyone can register with someone else's email, but only its owner can confirm it.
"""

import logging

from django.db import transaction

from saleor_loyalty.core.logging import log_context
from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger import actions as ledger
from saleor_loyalty.members import actions as members
from saleor_loyalty.members.models import Member

from . import signals
from .orders import settle_carry
from .rules import program_settings
from .snapshots import CustomerSnapshot

logger = logging.getLogger(__name__)


def enrol_customer(install: Install, customer: CustomerSnapshot, event: str = "customer_created") -> Member:
    with log_context(install_id=install.pk, user_id=customer.user_id), transaction.atomic():
        member = members.member_for_user(install, customer.user_id, customer.email)
        if customer.is_confirmed and customer.email:
            claim_guest_points(install, member, customer.email)
        signals.customer_changed.send(
            sender=enrol_customer, install=install, customer=customer, member=member, event=event
        )
        return member


def claim_guest_points(install: Install, member: Member, email: str) -> bool:
    """Merge the guest member for ``email`` (if any) into ``member``. Returns whether anything was merged."""
    guest = members.find_guest_member(install, email)
    if guest is None:
        return False
    list(Member.objects.select_for_update().filter(pk__in=[guest.pk, member.pk]).order_by("pk"))
    ledger.merge_members(source=guest, target=member, key=f"merge:{guest.pk}:into:{member.pk}")
    if guest.is_referee and not member.is_referee:  # the guest's referral now speaks for the member
        member.is_referee = True
        Member.objects.filter(pk=member.pk).update(is_referee=True)
    settle_carry(member, program_settings(install), key=f"merge:{guest.pk}:into:{member.pk}:carry", order_id=None)
    logger.info("guest points claimed", extra={"data": {"guest_member_id": guest.pk, "member_id": member.pk}})
    return True
