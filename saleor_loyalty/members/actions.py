"""Finding or enrolling members. Race-safe: concurrent deliveries for one shopper create one member."""

from collections.abc import Callable
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
    install: Install,
    user_id: str,
    email: str | None = None,
    *,
    lock: bool = False,
    looked_up: db.Query | None = None,
    enrol: "Enrol | None" = None,
) -> tuple[Member, bool]:
    """``member_for_user``, and whether this call enrolled the member (so nothing of it exists yet elsewhere: the
    ledger opens its accounts without looking for them first). ``looked_up``: a query on this shopper's
    ``shopper_key`` whose rows start with the member's columns (``MEMBER_COLUMNS``), with the same ``lock``, already
    run (with others, in one round trip): its answer is used. ``enrol``: how a new member is inserted (the
    ledger's, opening its accounts in the same statement), else ``insert``."""
    key = shopper_key(install, user_id=user_id)
    member = found(looked_up) if looked_up is not None else _find(key, lock=lock)
    if member is None:
        new = Member(install=install, saleor_user_id=user_id, email=normalize_email(email or ""))
        if (enrol or insert)(new):
            return new, True
        member = _find(key, lock=lock)
        assert member is not None  # a concurrent delivery enrolled them: the conflict says the row is there
    elif email and not member.email:
        member.email = normalize_email(email)
        Member.objects.filter(pk=member.pk).update(email=member.email)
    return member, False


def guest_member(install: Install, email: str, *, lock: bool = False) -> Member:
    """The member holding a guest's points until an account with this email claims them (``lock``: as above)."""
    return find_or_enrol_guest(install, email, lock=lock)[0]


def find_or_enrol_guest(
    install: Install, email: str, *, lock: bool = False, looked_up: db.Query | None = None, enrol: "Enrol | None" = None
) -> tuple[Member, bool]:
    """``guest_member``, and whether this call enrolled it (``looked_up`` and ``enrol``: as ``find_or_enrol_user``)."""
    email = normalize_email(email)
    key = shopper_key(install, email=email)
    member = found(looked_up) if looked_up is not None else _find(key, lock=lock)
    if member is None:
        new = Member(install=install, email=email)
        if (enrol or insert)(new):
            return new, True
        member = _find(key, lock=lock)
        assert member is not None  # as above
    return member, False


_MEMBER = db.Row(Member)
MEMBER_COLUMNS = _MEMBER.columns("m")  # a member's columns in a query on ``members_member m``, as ``found`` reads them
_GUEST = "m.saleor_user_id IS NULL AND m.merged_into_id IS NULL AND m.email = %s"


_USER = "m.saleor_user_id = %s"
# The shopper's key as a SQL condition on ``members_member m`` and its parameters (for a caller that reads what
# hangs off the member in the same round trip, before it knows the member's id): see ``shopper_key``.
ShopperKey = tuple[str, list[Any]]


def shopper_key(install: Install, *, user_id: str | None = None, email: str | None = None) -> ShopperKey:
    """The condition that finds a registered shopper's member (``user_id``) or a guest's (``email``)."""
    if user_id:
        return f"m.install_id = %s AND {_USER}", [install.pk, user_id]
    return f"m.install_id = %s AND {_GUEST}", [install.pk, normalize_email(email or "")]


def found(query: db.Query) -> Member | None:
    """The member a query on a ``shopper_key`` found (run; its rows start with ``MEMBER_COLUMNS``), or None."""
    return _MEMBER.build(query.rows[0]) if query.rows else None


def _find(key: ShopperKey, *, lock: bool) -> Member | None:
    """The member ``key`` finds (a unique key: at most one row), ``FOR UPDATE`` when ``lock``. A prepared statement:
    every order event reads its member, and the ORM's query cost more to build than to run."""
    suffix = " FOR UPDATE" if lock and connection.vendor == "postgresql" else ""
    where, params = key
    rows = db.fetchall(f"SELECT {MEMBER_COLUMNS} FROM members_member m WHERE {where}{suffix}", params)  # noqa: S608
    return _MEMBER.build(rows[0]) if rows else None


# Inserts a new member (its id set): False if a concurrent delivery enrolled the same shopper first.
Enrol = Callable[[Member], bool]


def insert(member: Member) -> bool:
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
