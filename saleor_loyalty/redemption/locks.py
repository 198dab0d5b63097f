"""One redeem or cancel at a time per checkout, held across the calls to Saleor.

A redemption reads the checkout, undoes the redemption it replaces and creates, lists and attaches a voucher: calls
to Saleor that no database transaction should stay open across (the hold's row locks would block the member's
other postings for as long). So the claim is a lease row (``CheckoutLock``), taken in one statement before the
first call — ``INSERT ... ON CONFLICT DO UPDATE`` that only takes over a lapsed lease — and deleted when done.
A second request for the same checkout waits for it (then sees, or replaces, what the first one left), or gets
``ALREADY_IN_PROGRESS`` after ``CLAIM_WAIT_SECONDS``. A worker that dies holding it blocks the checkout until the
lease lapses, long after any redemption could still be running (``lease``). It works on a pooler in transaction
mode (no session state) and on SQLite. The database's one-open-redemption-per-checkout constraint and the guarded
status changes in ``actions`` stay the last word should a lease ever lapse under a running request.
"""

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from saleor_loyalty.installs.models import Install

from .errors import RedemptionError
from .models import CheckoutLock

CLAIM_WAIT_SECONDS = 15.0
_FIRST_PAUSE, _LONGEST_PAUSE = 0.01, 0.1

# Takes the lease when nobody holds it or the holder's has lapsed; returns the token only when taken.
_CLAIM_SQL = """
INSERT INTO redemption_checkout_lock (install_id, checkout_id, token, expires_at) VALUES (%s, %s, %s, %s)
ON CONFLICT (install_id, checkout_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
WHERE redemption_checkout_lock.expires_at <= %s
RETURNING token
"""


def lease() -> timedelta:
    """How long a claim lasts: longer than the slowest redemption (every call to Saleor timing out, and then some)."""
    return timedelta(seconds=30 + 10 * settings.SALEOR_REQUEST_TIMEOUT)


def _try_claim(install_id: int, checkout_id: str, token: str) -> bool:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [install_id, checkout_id, token, now + lease(), now])
        return cursor.fetchone() is not None


@contextmanager
def checkout_claim(install: Install, checkout_id: str, *, wait: float = CLAIM_WAIT_SECONDS) -> Iterator[None]:
    """Hold the checkout's redemption lease for the block; wait up to ``wait`` seconds for it.

    Raises ``RedemptionError("ALREADY_IN_PROGRESS")`` when another request still holds it. Call it outside
    ``transaction.atomic``: inside one, other requests would not see the claim until that transaction commits.
    """
    token = secrets.token_hex(16)
    deadline = time.monotonic() + wait
    pause = _FIRST_PAUSE
    while not _try_claim(install.pk, checkout_id, token):
        if time.monotonic() + pause > deadline:
            raise RedemptionError(
                "ALREADY_IN_PROGRESS", "another redemption for this checkout is in progress; try again", "checkoutId"
            )
        time.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)
    try:
        yield
    finally:
        CheckoutLock.objects.filter(install_id=install.pk, checkout_id=checkout_id, token=token).delete()


def forget_lapsed() -> int:
    """Delete lapsed leases (their holders died); the sweep calls this. Returns how many."""
    deleted, _ = CheckoutLock.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
