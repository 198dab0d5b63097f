"""Finding or enrolling members. Race-safe: concurrent deliveries for one shopper create one member."""

from typing import Any

from django.db import connection

from saleor_loyalty.core import db
from saleor_loyalty.installs.models import Install

from .models import Member, normalize_email


def member_for_user(install: Install, user_id: str, email: str | None = None, *, lock: bool = False) -> Member:
    """The member of a Saleor customer, enrolled on first sight (from an order or CUSTOMER_CREATED).

    ``lock``: read it ``FOR UPDATE`` (inside the caller's transaction), so the caller need not read it again."""
    return find_or_enrol_user(install, user_id, email, lock=lock)[0]


def find_or_enrol_user(
    install: Install, user_id: str, email: str | None = None, *, lock: bool = False
) -> tuple[Member, bool]:
    """``member_for_user``, and whether this call enrolled the member (so nothing of it exists yet elsewhere: the
    ledger opens its accounts without looking for them first)."""
    member = _find(install, "m.saleor_user_id = %s", [user_id], lock=lock)
    if member is None:
        new = Member(install=install, saleor_user_id=user_id, email=normalize_email(email or ""))
        if _enrolled(new):
            return new, True
        member = _find(install, "m.saleor_user_id = %s", [user_id], lock=lock)
        assert member is not None  # a concurrent delivery enrolled them: the conflict says the row is there
    elif email and not member.email:
        member.email = normalize_email(email)
        Member.objects.filter(pk=member.pk).update(email=member.email)
    return member, False


def guest_member(install: Install, email: str, *, lock: bool = False) -> Member:
    """The member holding a guest's points until an account with this email claims them (``lock``: as above)."""
    return find_or_enrol_guest(install, email, lock=lock)[0]


def find_or_enrol_guest(install: Install, email: str, *, lock: bool = False) -> tuple[Member, bool]:
    """``guest_member``, and whether this call enrolled it (as ``find_or_enrol_user``)."""
    email = normalize_email(email)
    member = _find(install, _GUEST, [email], lock=lock)
    if member is None:
        new = Member(install=install, email=email)
        if _enrolled(new):
            return new, True
        member = _find(install, _GUEST, [email], lock=lock)
        assert member is not None  # as above
    return member, False


_MEMBER = db.Row(Member)
_GUEST = "m.saleor_user_id IS NULL AND m.merged_into_id IS NULL AND m.email = %s"


def _find(install: Install, where: str, params: list[Any], *, lock: bool) -> Member | None:
    """The install's member matching ``where`` (a unique key: at most one row), ``FOR UPDATE`` when ``lock``. A
    prepared statement: every order event reads its member, and the ORM's query cost more to build than to run."""
    suffix = " FOR UPDATE" if lock and connection.vendor == "postgresql" else ""
    rows = db.fetchall(
        f"SELECT {_MEMBER.columns('m')} FROM members_member m WHERE m.install_id = %s AND {where}{suffix}",  # noqa: S608
        [install.pk, *params],
    )
    return _MEMBER.build(rows[0]) if rows else None


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
