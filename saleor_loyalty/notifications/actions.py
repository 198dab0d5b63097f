"""Deciding to email a shopper: ``notify`` is the one write, for every feature that emails.

    from saleor_loyalty.notifications.actions import notify
    from saleor_loyalty.notifications.models import NotificationKind

    notify(member, NotificationKind.TIER_UP, key=f"tier:{member.pk}:{change.pk}", context={"tier_name": "Gold"})

``key`` is an idempotency key unique per install: the first call writes a ``Notification``, every later call with
the same key does nothing and returns ``None`` (so call it from receivers that may run many times, inside the
transaction that caused the email). A shopper who opted out, has no email address, or is a guest (no customer
account, so no way to opt out) gets no email; the decision is still recorded, with that status. Otherwise the
email is sent by the Celery task ``send_notification`` once the transaction commits — never if it rolls back.
Hot paths (an order's settlement) use ``outbox.send_after_commit`` instead: nothing is read or written in their
transaction, and the same decision (``record``) is taken after it commits, for a batch at once (``record_emails``).

Context. Every email gets these, computed when ``notify`` is called (a caller's value of the same name wins):

    shop_name        str   the store's domain (from the install)
    balance          int   points the shopper can see now: available minus owed (may be negative)
    available_points int   spendable now
    pending_points   int   earned, still in the return window
    first_name       str   the customer's first name, "" if unknown
    email            str   the address the email goes to

and, per kind (what the built-in templates use; values must be JSON-serialisable — datetimes, dates and
Decimals are stored as ISO strings, and keys ending in ``_at`` are parsed back to datetimes for the templates):

    EARNED           points (int, earned by this change), order_number (str), order_id (str),
                     unlocks_at (datetime | None: when they become spendable; None = already spendable)
    EXPIRY_REMINDER  points (int, about to expire), expires_at (datetime)
    TIER_UP          tier_name (str, the new tier), previous_tier_name (str, "" if none)
    TIER_DOWN        tier_name (str, the new tier), previous_tier_name (str)
    REFERRAL_REWARD  points (int, the reward), friend_name (str, optional: the referred friend's first name),
                     unlocks_at (datetime | None, as for EARNED)
    WELCOME          (nothing more; first_name comes from the customer)
    REBATE_PAID      amount, currency, period (str); how it was paid: card_refund (str amount refunded onto the
                     card, "" if none), store_credit (str amount added as store credit, "" if none),
                     store_credit_last4 (str, the gift card's last four characters), voucher_code (str, 3.22)

Keys used so far: ``earned:{order_id}:{award.revision}``, ``welcome:{member.pk}``. Other features should prefix
theirs with the kind (``tier_up:...``, ``expiry:{lot_id}:{expires_at:%Y-%m-%d}``, ``referral:{referral_id}``,
``rebate_paid:{payout_id}``).
"""

import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

from django.db import connection, transaction
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.members import actions as members
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.snapshots import CustomerSnapshot

from .models import EmailPreference, Notification, NotificationKind, NotificationSettings, NotificationStatus
from .tasks import send_notification

logger = logging.getLogger(__name__)

# Customer metadata (public or private) that opts a shopper out of loyalty emails, and the values that mean yes.
OPT_OUT_KEY = "loyalty_email_opt_out"
_YES = frozenset({"true", "1", "yes"})


def is_opted_out(customer: CustomerSnapshot) -> bool:
    """The shopper (public metadata) or the staff (private metadata) said no to loyalty emails."""
    return any(
        metadata.get(OPT_OUT_KEY, "").strip().lower() in _YES
        for metadata in (customer.metadata, customer.private_metadata)
    )


def update_preference(member: Member, customer: CustomerSnapshot) -> EmailPreference:
    """Remember what Saleor last said about the customer: opt-out, current email address, first name."""
    preference, _ = EmailPreference.objects.update_or_create(
        member=member,
        defaults={
            "opted_out": is_opted_out(customer),
            "email": (customer.email or "").strip(),
            "first_name": customer.first_name or "",
        },
    )
    return preference


def notify(
    member: Member, kind: NotificationKind, key: str, context: Mapping[str, Any] | None = None
) -> Notification | None:
    """Record the decision to email ``member`` and send it after commit. ``None``: ``key`` was already used."""
    member = members.current(member)
    preference = EmailPreference.objects.filter(member=member).first()
    notification = record(
        member,
        kind,
        key,
        context,
        preference=preference,
        disabled=disabled_kinds(member.install_id),
        shop=shop_name(member.install),
    )
    if notification is not None and notification.status == NotificationStatus.QUEUED:
        pk = notification.pk
        # robust: a broker that is down must not fail the webhook that caused the email (the row stays queued
        # and ``requeue_stuck_notifications`` picks it up).
        transaction.on_commit(lambda: send_notification.delay(pk), robust=True)
    return notification


def record_emails(emails: Iterable[Mapping[str, Any]]) -> list[int]:
    """Record emails decided in transactions that have committed (``outbox``), in one transaction of their own:
    the same decision and row as ``notify``, for many at once. Returns the ids of those to send now."""
    emails = list(emails)
    with transaction.atomic():
        by_id = Member.objects.in_bulk({int(email["member_id"]) for email in emails})
        disabled: dict[int, list[str]] = {}
        queued = []
        for email in emails:
            found = by_id.get(int(email["member_id"]))
            if found is None:  # pragma: no cover - members are never deleted
                continue
            member = members.current(found)
            if member.install_id not in disabled:
                disabled[member.install_id] = disabled_kinds(member.install_id)
            notification = record(
                member,
                NotificationKind(email["kind"]),
                email["key"],
                email["context"],
                preference=EmailPreference.objects.filter(member=member).first(),
                disabled=disabled[member.install_id],
                shop=email["shop_name"],
            )
            if notification is not None and notification.status == NotificationStatus.QUEUED:
                queued.append(notification.pk)
    return queued


def disabled_kinds(install_id: int) -> list[str]:
    """The kinds of email the merchant turned off."""
    rows = NotificationSettings.objects.filter(install_id=install_id).values_list("disabled_kinds", flat=True)
    return list(next(iter(rows), []))


def shop_name(install: Install) -> str:
    return install.saleor_domain or urlparse(install.saleor_api_url).hostname or ""


def record(
    member: Member,
    kind: NotificationKind,
    key: str,
    context: Mapping[str, Any] | None,
    *,
    preference: EmailPreference | None,
    disabled: list[str],
    shop: str,
) -> Notification | None:
    """Write the decision about one email to ``member`` (already the current member); ``None``: key used."""
    to_email = (preference.email if preference and preference.email else member.email).strip()
    if str(kind) in disabled:
        status = NotificationStatus.SKIPPED_DISABLED
    elif member.is_guest:
        status = NotificationStatus.SKIPPED_GUEST
    elif preference is not None and preference.opted_out:
        status = NotificationStatus.SKIPPED_OPT_OUT
    elif not to_email:
        status = NotificationStatus.SKIPPED_NO_EMAIL
    else:
        status = NotificationStatus.QUEUED
    now = timezone.now()
    notification = Notification(
        install_id=member.install_id,
        member=member,
        kind=kind,
        key=key,
        to_email=to_email,
        context={**base_context(member, preference, to_email, shop), **(context or {})},
        status=status,
        created_at=now,
        updated_at=now,
    )
    pk = _insert(notification)
    if pk is None:
        return None
    notification.pk = pk
    logger.info(
        "notification recorded",
        extra={"data": {"notification_id": pk, "kind": str(kind), "member_id": member.pk, "status": str(status)}},
    )
    return notification


def base_context(member: Member, preference: EmailPreference | None, to_email: str, shop: str) -> dict[str, Any]:
    balances = member_balances(member)
    return {
        "shop_name": shop,
        "balance": balances.net,
        "available_points": balances.available,
        "pending_points": balances.pending,
        "first_name": preference.first_name if preference else "",
        "email": to_email,
    }


_COLUMNS = (
    "install_id",
    "member_id",
    "kind",
    "key",
    "to_email",
    "context",
    "status",
    "attempts",
    "error",
    "created_at",
    "updated_at",
    "sent_at",
)


def _insert(notification: Notification) -> int | None:
    """INSERT ... ON CONFLICT (install, key) DO NOTHING: the new row's id, or None if the key was used before."""
    quote = connection.ops.quote_name
    by_column = {field.attname: field for field in Notification._meta.concrete_fields}
    fields = [by_column[column] for column in _COLUMNS]
    values = [field.get_db_prep_save(getattr(notification, field.attname), connection) for field in fields]
    sql = (
        f"INSERT INTO {quote(Notification._meta.db_table)} ({', '.join(quote(c) for c in _COLUMNS)}) "  # noqa: S608 - constant names
        f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "
        f"ON CONFLICT ({quote('install_id')}, {quote('key')}) DO NOTHING RETURNING {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    return int(row[0]) if row else None
