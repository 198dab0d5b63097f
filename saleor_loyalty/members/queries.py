"""Finding an existing member for an operator (or, later, the dashboard): by Saleor user id, or by email."""

from saleor_loyalty.installs.models import Install

from .models import Member, normalize_email


class MemberNotFound(LookupError):
    """No member, or (by email) more than one: the message says which."""


def find_member(install: Install, *, user_id: str | None = None, email: str | None = None) -> Member:
    """The member of a Saleor customer (``user_id``), or the one unmerged member with ``email`` (a guest's or an
    account's). Never enrols anyone: an operator looking a customer up must not create them."""
    members = Member.objects.filter(install=install)
    if user_id:
        member = members.filter(saleor_user_id=user_id).first()
    elif email:
        matches = list(members.filter(email=normalize_email(email), merged_into__isnull=True)[:2])
        if len(matches) > 1:
            raise MemberNotFound("several members have that email: name the customer by Saleor user id")
        member = matches[0] if matches else None
    else:
        raise MemberNotFound("name the customer by Saleor user id or by email")
    if member is None:
        raise MemberNotFound("no such customer in this store's loyalty program")
    return member
