"""Finding or enrolling members. Race-safe: concurrent deliveries for one shopper create one member."""

from django.db import connection

from saleor_loyalty.core import db
from saleor_loyalty.installs.models import Install

from .models import Member, normalize_email


def member_for_user(install: Install, user_id: str, email: str | None = None, *, lock: bool = False) -> Member:
    """The member of a Saleor customer, enrolled on first sight (from an order or CUSTOMER_CREATED).

    ``lock``: read it ``FOR UPDATE`` (inside the caller's transaction), so the caller need not read it again."""
    members = Member.objects.select_for_update() if lock else Member.objects.all()
    member = members.filter(install=install, saleor_user_id=user_id).first()
    if member is None:
        new = Member(install=install, saleor_user_id=user_id, email=normalize_email(email or ""))
        if _enrolled(new):
            return new
        member = members.get(install=install, saleor_user_id=user_id)
    elif email and not member.email:
        member.email = normalize_email(email)
        Member.objects.filter(pk=member.pk).update(email=member.email)
    return member


def guest_member(install: Install, email: str, *, lock: bool = False) -> Member:
    """The member holding a guest's points until an account with this email claims them (``lock``: as above)."""
    email = normalize_email(email)
    members = Member.objects.select_for_update() if lock else Member.objects.all()
    member = members.filter(install=install, saleor_user_id__isnull=True, merged_into__isnull=True, email=email).first()
    if member is None:
        new = Member(install=install, email=email)
        if _enrolled(new):
            return new
        member = members.get(install=install, saleor_user_id__isnull=True, merged_into__isnull=True, email=email)
    return member


def _enrolled(member: Member) -> bool:
    """Insert a new member; False if a concurrent delivery enrolled the same shopper first (read it then)."""
    if connection.vendor == "postgresql":
        return db.insert_new(member)
    Member.objects.bulk_create([member], ignore_conflicts=True)
    return False


def find_guest_member(install: Install, email: str) -> Member | None:
    return Member.objects.filter(
        install=install, saleor_user_id__isnull=True, merged_into__isnull=True, email=normalize_email(email)
    ).first()


def current(member: Member) -> Member:
    """Follow merges: the member that now holds what ``member`` held."""
    seen = {member.pk}
    while member.merged_into_id is not None:
        member = Member.objects.get(pk=member.merged_into_id)
        if member.pk in seen:  # pragma: no cover - merges never form cycles
            raise RuntimeError("member merge cycle")
        seen.add(member.pk)
    return member
