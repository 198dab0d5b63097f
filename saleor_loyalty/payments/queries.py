"""Reading a store's Stripe connection (what the staff API shows: never a secret)."""

from saleor_loyalty.installs.models import Install

from .models import StripeAccount


def stripe_account(install: Install) -> StripeAccount | None:
    return StripeAccount.objects.filter(install=install).first()
