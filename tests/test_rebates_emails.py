"""The "rebate paid" email: sent once per payout, after the payout is recorded paid, saying how much and how it was
paid; not for a payout that failed or is still waiting for Stripe; not when the merchant switched it off."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from saleor_loyalty.notifications.models import Notification, NotificationKind, NotificationSettings
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.rebates import payers
from saleor_loyalty.rebates.models import CreditVia, RebatePayout, StoreCredit, StoreCreditPayment
from saleor_loyalty.rebates.payers import PayoutFailed, PayoutRequest
from saleor_loyalty.rebates.settlement import close_period, settle_rebates
from tests.factories import line, order, rebate_program

pytestmark = pytest.mark.django_db

NOVEMBER_CLOSED = datetime(2027, 1, 1, tzinfo=UTC)
TEN_PERCENT = [{"threshold": "0", "rate": "10"}]


class CardPayer:
    """A store credit payer that tops up the member's card ****AB12 and records it as the real payer does."""

    def __init__(self, fail: bool = False, voucher: bool = False) -> None:
        self.fail, self.voucher, self.calls = fail, voucher, 0

    def pay(self, request: PayoutRequest) -> str:
        self.calls += 1
        if self.fail:
            raise PayoutFailed("gift cards are off")
        credit, _ = StoreCredit.objects.get_or_create(
            install_id=request.install_id,
            member_id=request.member_id,
            currency=request.currency,
            defaults={"saleor_id": "R2lmdENhcmQ6MQ==", "last4": "AB12"},
        )
        reference = "REBATE-7QX2M4K9WZ3B8N5D" if self.voucher else "gift card ****AB12"
        StoreCreditPayment.objects.get_or_create(
            install_id=request.install_id,
            key=request.key,
            defaults={
                "credit": None if self.voucher else credit,
                "via": CreditVia.VOUCHER if self.voucher else CreditVia.CARD_TOP_UP,
                "amount": int(request.amount * 100),
                "currency": request.currency,
                "reference": reference,
                "voucher_code": reference if self.voucher else "",
                "done_at": timezone.now(),
            },
        )
        return reference


@pytest.fixture
def card_payer(monkeypatch):
    payer = CardPayer()
    monkeypatch.setitem(payers._payers, "store_credit", payer)
    return payer


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def rebate_of_14(install):
    rebate_program(install, bands=TEN_PERCENT)
    reconcile_order(install, order("o-1", lines=(line(unit="140.00"),)))


def test_a_store_credit_payout_emails_the_shopper_once_with_the_amount_and_the_card(install, card_payer, committed):
    rebate_of_14(install)
    mail.outbox.clear()  # the points-earned email

    with committed():
        close_period(install, "2026-11", now=NOVEMBER_CLOSED)
    with committed():
        close_period(install, "2026-11", now=NOVEMBER_CLOSED)
        settle_rebates(now=NOVEMBER_CLOSED)

    (message,) = mail.outbox
    assert message.to == ["shopper@example.com"]
    assert "14.00 USD" in message.subject
    assert "Your rebate for 2026-11 has been paid: 14.00 USD." in message.body
    assert "14.00 USD was added to your store credit (gift card ending AB12)" in message.body
    assert "refunded to the card" not in message.body
    notification = Notification.objects.get(kind=NotificationKind.REBATE_PAID)
    assert notification.key == f"rebate_paid:{RebatePayout.objects.get().pk}"
    assert notification.status == "sent"


def test_a_3_22_voucher_payout_emails_its_code(install, monkeypatch, committed):
    monkeypatch.setitem(payers._payers, "store_credit", CardPayer(voucher=True))
    rebate_of_14(install)
    mail.outbox.clear()

    with committed():
        close_period(install, "2026-11", now=NOVEMBER_CLOSED)

    (message,) = mail.outbox
    assert "enter the code REBATE-7QX2M4K9WZ3B8N5D at checkout" in message.body
    assert isinstance(message, EmailMultiAlternatives)
    assert "REBATE-7QX2M4K9WZ3B8N5D" in str(message.alternatives[0][0])


def test_a_failed_payout_sends_nothing(install, monkeypatch, committed):
    monkeypatch.setitem(payers._payers, "store_credit", CardPayer(fail=True))
    rebate_of_14(install)
    mail.outbox.clear()

    with committed():
        close_period(install, "2026-11", now=NOVEMBER_CLOSED)

    assert mail.outbox == []
    assert not Notification.objects.filter(kind=NotificationKind.REBATE_PAID).exists()


def test_the_merchant_can_switch_the_rebate_paid_email_off(install, card_payer, committed):
    NotificationSettings.objects.create(install=install, disabled_kinds=["rebate_paid"])
    rebate_of_14(install)
    mail.outbox.clear()

    with committed():
        close_period(install, "2026-11", now=NOVEMBER_CLOSED)

    assert mail.outbox == []
    assert Notification.objects.get(kind=NotificationKind.REBATE_PAID).status == "skipped_disabled"
