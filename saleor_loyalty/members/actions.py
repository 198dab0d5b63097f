"""Finding or enrolling members. Race-safe: concurrent deliveries for one shopper create one member."""

from saleor_loyalty.saleor.models import Install

from .models import Member, normalize_email


def member_for_user(install: Install, user_id: str, email: str | None = None) -> Member:
    """The member of a Saleor customer, enrolled on first sight (from an order or CUSTOMER_CREATED)."""
    member = Member.objects.filter(install=install, saleor_user_id=user_id).first()
    if member is None:
        Member.objects.bulk_create(
            [Member(install=install, saleor_user_id=user_id, email=normalize_email(email or ""))],
            ignore_conflicts=True,
        )
        member = Member.objects.get(install=install, saleor_user_id=user_id)
    elif email and not member.email:
        Member.objects.filter(pk=member.pk).update(email=normalize_email(email))
    return member


def guest_member(install: Install, email: str) -> Member:
    """The member holding a guest's points until an account with this email claims them."""
    email = normalize_email(email)
    member = Member.objects.filter(
        install=install, saleor_user_id__isnull=True, merged_into__isnull=True, email=email
    ).first()
    if member is None:
        Member.objects.bulk_create([Member(install=install, email=email)], ignore_conflicts=True)
        member = Member.objects.get(install=install, saleor_user_id__isnull=True, merged_into__isnull=True, email=email)
    return member


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
