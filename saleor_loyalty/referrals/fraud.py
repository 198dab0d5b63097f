"""Fraud checks on a referral, from commerce data: who the referee is and where their first order goes.

A referral is suspicious (HELD for review, nothing paid) when the referee looks like the referrer — the same
Saleor user, the same email once normalised (case, ``+tags``, dots in a Gmail local part), an order shipped to
an address or with a phone the referrer's own orders used — or when the referrer already has as many rewarded
referrals as the program allows. Addresses and phones are compared as hashes of their normalised form
(``Fingerprint``), recorded from every order the app reconciles; the data itself is never stored here.
"""

import hashlib
import re
import unicodedata
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from saleor_loyalty.members.models import Member
from saleor_loyalty.program.snapshots import AddressSnapshot, OrderSnapshot

from .models import Fingerprint, FingerprintKind, Referral, ReferralFlag, ReferralProgram, ReferralStatus

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
_STREET_WORDS = {  # common spellings of the same street, one form each
    "street": "st",
    "str": "st",
    "strasse": "str",
    "straße": "str",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "place": "pl",
    "court": "ct",
    "square": "sq",
    "apartment": "apt",
    "suite": "ste",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}


def canonical_email(email: str | None) -> str:
    """The mailbox an address delivers to: lower case, no ``+tag``, no dots in a Gmail local part."""
    email = (email or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        return email
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.findall(r"\w+", text)


def canonical_address(address: AddressSnapshot | None) -> str | None:
    """One string per physical address (case, punctuation, spacing and common abbreviations ignored)."""
    if address is None:
        return None
    street = " ".join(_STREET_WORDS.get(word, word) for word in _words(address.street))
    postal = "".join(_words(address.postal_code)).upper()
    city = " ".join(_words(address.city))
    if not street or not (postal or city):
        return None
    return f"{address.country.strip().upper()}|{postal}|{city}|{street}"


def canonical_phone(phone: str | None) -> str | None:
    """Digits only (Saleor stores E.164, ``+`` and a country code); too short to mean anything is ignored."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("00"):
        digits = digits[2:]
    return digits if len(digits) >= 7 else None


def digest(install_id: int, kind: str, value: str) -> str:
    return hashlib.sha256(f"{install_id}:{kind}:{value}".encode()).hexdigest()


def order_fingerprints(install_id: int, order: OrderSnapshot) -> dict[str, str]:
    """kind -> digest of the order's shipping address and phone, where it has them."""
    found: dict[str, str] = {}
    address = canonical_address(order.shipping_address)
    if address:
        found[FingerprintKind.ADDRESS] = digest(install_id, FingerprintKind.ADDRESS, address)
    phone = canonical_phone(order.shipping_address.phone if order.shipping_address else None)
    if phone:
        found[FingerprintKind.PHONE] = digest(install_id, FingerprintKind.PHONE, phone)
    return found


def _members_of(member: Member) -> Q:
    """The member and the guest members merged into it (their orders are its orders now)."""
    return Q(member=member) | Q(member__merged_into=member)


def identity_flags(referrer: Member, referee: Member, order: OrderSnapshot | None) -> list[str]:
    flags: list[str] = []
    referee_users = {referee.saleor_user_id, order.user_id if order else None} - {None}
    if referee.pk == referrer.pk or (referrer.saleor_user_id and referrer.saleor_user_id in referee_users):
        flags.append(ReferralFlag.SAME_USER)
    referrer_email = canonical_email(referrer.email)
    referee_emails = {canonical_email(referee.email), canonical_email(order.user_email if order else None)}
    if referrer_email and referrer_email in referee_emails:
        flags.append(ReferralFlag.SAME_EMAIL)
    if order is not None:
        prints = order_fingerprints(referrer.install_id, order)
        kinds = {FingerprintKind.ADDRESS: ReferralFlag.SAME_ADDRESS, FingerprintKind.PHONE: ReferralFlag.SAME_PHONE}
        for kind, flag in kinds.items():
            if (
                kind in prints
                and Fingerprint.objects.filter(_members_of(referrer), kind=kind, digest=prints[kind]).exists()
            ):
                flags.append(flag)
    return flags


def cap_reached(referral: Referral, program: ReferralProgram) -> bool:
    """Whether the referrer already has as many rewarded referrals as the program allows (per period, ever)."""
    rewarded = Referral.objects.filter(
        referrer=referral.referrer, status__in=(ReferralStatus.QUALIFIED, ReferralStatus.REWARDED)
    ).exclude(pk=referral.pk)
    if program.max_rewarded_total is not None and rewarded.count() >= program.max_rewarded_total:
        return True
    if program.max_rewarded_per_period is not None:
        since = timezone.now() - timedelta(days=program.cap_period_days)
        if rewarded.filter(paid_at__gte=since).count() >= program.max_rewarded_per_period:
            return True
    return False


def fraud_flags(referral: Referral, program: ReferralProgram, order: OrderSnapshot | None) -> list[str]:
    """Every reason to hold this referral for review (empty: pay it)."""
    flags = identity_flags(referral.referrer, referral.referee, order)
    if cap_reached(referral, program):
        flags.append(ReferralFlag.CAP_REACHED)
    return flags
