"""Earning events: sign-up, first order and birthday bonuses (each at most once, by idempotency key).

* Sign-up: when the customer's account is confirmed (CUSTOMER_CREATED with ``isConfirmed``, or
  ACCOUNT_CONFIRMED) — an unconfirmed registration could be anyone's email. Available at once.
* First order: when the member's first order is paid in full, pending like the order's own points; taken back
  if that order ends up refunded in full or cancelled (and not given again for a later order).
* Birthday: once per calendar year, on the day (UTC), from the customer metadata key the merchant names; a
  daily job, set-based (``ledger.bulk``), never a loop over members.
"""

import logging
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger import actions as ledger
from saleor_loyalty.ledger.bulk import bulk_earn
from saleor_loyalty.ledger.models import Transfer
from saleor_loyalty.ledger.queries import clawed_back
from saleor_loyalty.members.models import Member

from .expiry import lot_expiry
from .issuing import issue_points
from .models import ClawbackPolicy, OrderAward, ProgramSettings
from .rules import program_settings
from .snapshots import CustomerSnapshot

logger = logging.getLogger(__name__)


def parse_birthday(value: str | None) -> tuple[int, int] | None:
    """(month, day) from "YYYY-MM-DD" or "MM-DD"; None for anything else (Feb 29 is kept: awarded Feb 28)."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = date.fromisoformat(text) if len(text) == 10 else date.fromisoformat(f"2000-{text}")
    except ValueError:
        return None
    return parsed.month, parsed.day


def remember_birthday(member: Member, customer: CustomerSnapshot, program: ProgramSettings) -> None:
    birthday = parse_birthday(customer.metadata.get(program.birthday_metadata_key))
    month, day = birthday if birthday else (None, None)
    if (member.birthday_month, member.birthday_day) != (month, day):
        Member.objects.filter(pk=member.pk).update(birthday_month=month, birthday_day=day)


def give_signup_bonus(member: Member, customer: CustomerSnapshot, program: ProgramSettings) -> None:
    if program.signup_bonus_points and customer.is_confirmed:
        issue_points(member, program, points=program.signup_bonus_points, key=f"signup:{member.pk}", source="signup")


def settle_first_order_bonus(member: Member, award: OrderAward, program: ProgramSettings) -> None:
    """Give the bonus for the member's first fully paid order; take it back if that order is undone.

    The member's row (locked by the order's settlement) says which order had the bonus, if any: no lookup on the
    orders of a member who has it, or of a program without it."""
    key = f"first-order:{member.pk}"
    given_for = member.first_order_bonus_order_id
    if given_for is None:
        if not program.first_order_bonus_points or award.spend <= 0 or award.first_paid_at is None:
            return
        earlier = OrderAward.objects.filter(member=member, first_paid_at__lt=award.first_paid_at).exists()
        if earlier:
            return
        lot = issue_points(
            member,
            program,
            points=program.first_order_bonus_points,
            key=key,
            source="first_order",
            order_id=award.order_id,
            unlocks_at=timezone.now() + timedelta(days=program.return_window_days),
        )
        member.first_order_bonus_order_id = lot.order_id
        Member.objects.filter(pk=member.pk).update(first_order_bonus_order_id=lot.order_id)
    elif given_for == award.order_id and award.spend <= 0 and not _revoked(member, key):
        given = Transfer.objects.get(install_id=member.install_id, idempotency_key=key)
        ledger.claw_back(
            member=member,
            points=given.amount,
            key=f"{key}:revoked",
            order_id=award.order_id,
            write_off=program.clawback_policy == ClawbackPolicy.WRITE_OFF,
        )


def _revoked(member: Member, key: str) -> bool:
    return clawed_back(member.install_id, f"{key}:revoked")


def give_birthday_bonuses(install: Install, today: date | None = None) -> int:
    """Daily: every member whose birthday is today and who has not had this year's bonus gets it."""
    day = today or timezone.now().date()
    program = program_settings(install)
    if not program.birthday_bonus_points:
        return 0
    now = datetime.now(tz=timezone.get_current_timezone())
    with transaction.atomic():
        return award_birthdays(
            install_id=install.pk,
            points=program.birthday_bonus_points,
            month=day.month,
            day=day.day,
            year=day.year,
            leap_fallback=(day.month, day.day) == (2, 28) and not _is_leap(day.year),
            now=now,
            expires_at=lot_expiry(program, now),
        )


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


_BIRTHDAYS_DUE = """
SELECT m.id AS member_id FROM members_member m
WHERE m.install_id = %(install)s AND m.merged_into_id IS NULL AND m.saleor_user_id IS NOT NULL
  AND ((m.birthday_month = %(month)s AND m.birthday_day = %(day)s)
       OR (%(leap_fallback)s AND m.birthday_month = 2 AND m.birthday_day = 29))
  AND (m.birthday_bonus_year IS NULL OR m.birthday_bonus_year < %(year)s)
"""


def award_birthdays(
    *,
    install_id: int,
    points: int,
    month: int,
    day: int,
    year: int,
    leap_fallback: bool,
    now: datetime,
    expires_at: datetime | None = None,
) -> int:
    """The birthday bonus for every member whose birthday is (month, day), once in ``year``."""
    params = {"month": month, "day": day, "year": year, "leap_fallback": leap_fallback}
    members = bulk_earn(
        install_id=install_id,
        due_sql=_BIRTHDAYS_DUE,
        params=params,
        points=points,
        key_prefix=f"birthday:{year}",
        source="birthday",
        now=now,
        expires_at=expires_at,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE members_member SET birthday_bonus_year = %(year)s WHERE id = ANY(%(ids)s)",
            {"year": year, "ids": members},
        )
    return len(members)
