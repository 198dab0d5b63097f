"""Rebates paid as store credit, against the contract harness: a Saleor 3.23 gift card per member and currency
(created once, topped up), never paid twice across retries; a single-use voucher per payout on Saleor 3.22."""

from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.rebates.models import (
    CreditVia,
    PayoutState,
    RebatePayout,
    RebatePeriod,
    StoreCredit,
    StoreCreditPayment,
)
from saleor_loyalty.rebates.payers import PayoutFailed, PayoutRequest, payer_for
from saleor_loyalty.rebates.queries import ledger_problems, rebate_progress
from saleor_loyalty.rebates.settlement import close_period, send_payouts
from saleor_loyalty.rebates.store_credit import StoreCreditBusy, StoreCreditPayer, voucher_code
from saleor_loyalty.saleor.client import SaleorClient, SaleorError
from saleor_loyalty.saleor.manifest import PERMISSIONS
from tests.factories import line, make_install, order, rebate_program
from tests.fake_store import FakeStore
from tests.saleor_harness import FakeSaleor

pytestmark = pytest.mark.django_db

NOVEMBER_CLOSED = datetime(2027, 1, 1, tzinfo=UTC)
USER = "VXNlcjox"


class Shop:
    def __init__(self, saleor: FakeSaleor, install: Install) -> None:
        self.saleor = saleor
        self.shop = FakeStore(saleor)
        self.install = install
        self.member = member_for_user(install, USER, "shopper@example.com")

    def request(self, key: str, amount: str, *, payout_id: int = 1, user_id: str | None = USER) -> PayoutRequest:
        return PayoutRequest(
            key=key,
            payout_id=payout_id,
            install_id=self.install.pk,
            member_id=self.member.pk,
            saleor_user_id=user_id,
            email="shopper@example.com",
            channel_slug="default-channel",
            amount=Decimal(amount),
            currency="USD",
            method="store_credit",
        )

    def card(self) -> dict:
        (card,) = self.shop.gift_cards.values()
        return card

    def lapse_lease(self) -> None:
        """As if UNKNOWN_OUTCOME_WAIT had passed."""
        StoreCredit.objects.update(lease_until=timezone.now() - timedelta(seconds=1))


@contextmanager
def running(version: str = "3.23", permissions: tuple[str, ...] = PERMISSIONS):
    with FakeSaleor(schema_version=version, app_permissions=permissions) as saleor:
        install = make_install(
            api_url=saleor.api_url, jwks=saleor.keys.jwks(), app_id=saleor.app_id, token=saleor.app_token
        )
        yield Shop(saleor, install)
        saleor.assert_all_documents_valid()  # every document valid on the lines it is sent to, every field allowed


@pytest.fixture
def shop(settings):
    settings.SALEOR_REQUEST_TIMEOUT = 2
    with running() as running_shop:
        yield running_shop


def test_the_first_payout_creates_the_members_card_and_the_next_tops_it_up(shop):
    payer = StoreCreditPayer()
    first = payer.pay(shop.request("rebate:1:r1:payout", "14.00"))
    card = shop.card()
    assert first == f"gift card ****{card['code'][-4:]}"
    assert (card["balance"], card["currency"], card["assigned_to"], card["user_email"]) == (
        Decimal("14.00"),
        "USD",
        USER,  # only this customer may spend it
        "shopper@example.com",  # Saleor sends them the card
    )
    marker = StoreCredit.objects.get().marker
    assert card["metadata"] == {"loyalty_store_credit": marker}  # random: names no member to the shopper
    assert marker.startswith("credit:") and len(marker) == len("credit:") + 32
    assert card["private_metadata"] == {"loyalty_payout": "rebate:1:r1:payout"}

    second = payer.pay(shop.request("rebate:2:r1:payout", "6.50", payout_id=2))
    assert second == first and len(shop.shop.gift_cards) == 1
    assert card["balance"] == Decimal("20.50")
    assert [e["type"] for e in card["events"]] == ["ISSUED", "BALANCE_ADJUSTED"]
    credit = StoreCredit.objects.get()
    assert (credit.saleor_id, credit.last4, credit.credited, credit.balance) == (
        next(iter(shop.shop.gift_cards)),
        card["code"][-4:],
        2050,
        2050,
    )
    assert credit.lease_until is None  # released
    assert list(StoreCreditPayment.objects.order_by("pk").values_list("via", "saleor_version")) == [
        (CreditVia.CARD_CREATE, "3.23"),
        (CreditVia.CARD_TOP_UP, "3.23"),
    ]
    assert len(shop.saleor.calls_to("giftCardBalanceAdjust")) == 1
    # The same keys again: answered from the app's records, nothing sent to Saleor.
    calls = len(shop.saleor.calls)
    assert payer.pay(shop.request("rebate:2:r1:payout", "6.50", payout_id=2)) == second
    assert len(shop.saleor.calls) == calls and card["balance"] == Decimal("20.50")
    assert shop.shop.pay_with_gift_card(card["code"], "20.50", user_id="VXNlcjoy") != "AUTHORIZATION_SUCCESS"
    assert shop.shop.pay_with_gift_card(card["code"], "20.50", user_id=USER) == "AUTHORIZATION_SUCCESS"


def test_a_top_up_whose_answer_was_lost_is_not_sent_again(shop):
    payer = StoreCreditPayer()
    payer.pay(shop.request("k1", "10.00"))
    card = shop.card()
    shop.saleor.fail_next("giftCardBalanceAdjust", status=502, executed=True)  # done in Saleor, answer lost
    with pytest.raises(SaleorError):
        payer.pay(shop.request("k2", "5.00", payout_id=2))
    assert card["balance"] == Decimal("15.00")
    with pytest.raises(StoreCreditBusy):  # the lost call may still be running in Saleor: nobody touches the card
        payer.pay(shop.request("k2", "5.00", payout_id=2))
    shop.lapse_lease()
    assert payer.pay(shop.request("k2", "5.00", payout_id=2)) == f"gift card ****{card['code'][-4:]}"
    assert card["balance"] == Decimal("15.00")  # once
    assert len(shop.saleor.calls_to("giftCardBalanceAdjust")) == 1
    assert StoreCredit.objects.get().credited == 1500


def test_a_top_up_that_timed_out_before_saleor_did_it_is_sent_once_more(shop):
    payer = StoreCreditPayer()
    payer.pay(shop.request("k1", "10.00"))
    shop.saleor.fail_next("giftCardBalanceAdjust", delay=2.5)  # the app gives up first; Saleor then fails it
    with pytest.raises(SaleorError, match="unreachable"):
        payer.pay(shop.request("k2", "5.00", payout_id=2))
    assert shop.card()["balance"] == Decimal("10.00")
    shop.lapse_lease()
    payer.pay(shop.request("k2", "5.00", payout_id=2))
    assert shop.card()["balance"] == Decimal("15.00")
    assert StoreCreditPayment.objects.get(key="k2").attempts == 2


def test_a_card_created_but_not_recorded_is_found_again_not_created_twice(shop):
    payer = StoreCreditPayer()
    shop.saleor.fail_next("giftCardCreate", status=504, executed=True)
    with pytest.raises(SaleorError):
        payer.pay(shop.request("k1", "10.00"))
    assert len(shop.shop.gift_cards) == 1 and StoreCredit.objects.get().saleor_id == ""
    shop.lapse_lease()
    reference = payer.pay(shop.request("k1", "10.00"))
    assert len(shop.shop.gift_cards) == 1 and shop.card()["balance"] == Decimal("10.00")
    assert reference.endswith(shop.card()["code"][-4:])
    assert StoreCredit.objects.get().saleor_id == next(iter(shop.shop.gift_cards))
    # a second payout that found the card (its creator's answer lost) tops it up
    payer.pay(shop.request("k2", "1.00", payout_id=2))
    assert shop.card()["balance"] == Decimal("11.00")


def test_a_first_payout_never_adopts_another_customers_card_that_carries_an_old_style_marker(shop):
    """Found on a real Saleor: cards marked ``member:<id>:<currency>`` (an earlier app database's member ids) were
    adopted by whichever member now has that id. A record's marker is its own random value."""
    payer = StoreCreditPayer()
    payer.pay(shop.request("k1", "5.00"))
    (someone_elses,) = shop.shop.gift_cards.values()
    newcomer = member_for_user(shop.install, "VXNlcjoy", "newcomer@example.com")
    someone_elses["metadata"] = {"loyalty_store_credit": f"member:{newcomer.pk}:USD"}
    request = replace(shop.request("k2", "3.00", payout_id=2, user_id="VXNlcjoy"), member_id=newcomer.pk)
    payer.pay(request)
    assert len(shop.shop.gift_cards) == 2
    assert someone_elses["balance"] == Decimal("5.00")  # untouched
    theirs = StoreCredit.objects.get(member=newcomer)
    (new_card,) = [c for c in shop.shop.gift_cards.values() if c is not someone_elses]
    assert (new_card["balance"], new_card["assigned_to"]) == (Decimal("3.00"), "VXNlcjoy")
    assert new_card["metadata"] == {"loyalty_store_credit": theirs.marker} != someone_elses["metadata"]


def test_another_payouts_card_found_on_retry_pays_that_payout_by_its_creation(shop):
    """k1 created the card (answer lost); k2 then adopts it and tops it up; k1's retry must see the card was its own."""
    payer = StoreCreditPayer()
    shop.saleor.fail_next("giftCardCreate", status=500, executed=True)
    with pytest.raises(SaleorError):
        payer.pay(shop.request("k1", "10.00"))
    shop.lapse_lease()
    payer.pay(shop.request("k2", "4.00", payout_id=2))
    payer.pay(shop.request("k1", "10.00"))
    assert shop.card()["balance"] == Decimal("14.00")
    assert StoreCredit.objects.get().credited == 1400


def test_a_refused_card_is_payout_failed_and_the_money_is_payable_again(shop):
    rebate_program(shop.install)
    reconcile_order(shop.install, order(lines=(line(unit="700.00"),), user_id="VXNlcjo5"))  # a customer Saleor lacks
    closed = close_period(shop.install, "2026-11", now=NOVEMBER_CLOSED)
    assert (closed.paid, closed.failed) == (0, 1)
    payout = RebatePayout.objects.get()
    assert payout.state == PayoutState.FAILED and "NOT_FOUND" in payout.failure
    assert RebatePeriod.objects.get().payable == 1400
    assert shop.shop.gift_cards == {} and StoreCredit.objects.get().lease_until is None
    assert ledger_problems(shop.install, "USD") == []
    with pytest.raises(PayoutFailed, match="giftCardCreate: assignedTo: NOT_FOUND"):
        StoreCreditPayer().pay(shop.request("k-refused", "1.00", user_id="VXNlcjo5"))


def test_saleor_unreachable_leaves_the_payout_created_for_the_next_run(shop):
    rebate_program(shop.install)
    reconcile_order(shop.install, order(lines=(line(unit="700.00"),), user_id=USER))
    shop.saleor.fail_next("giftCardCreate", status=503)
    closed = close_period(shop.install, "2026-11", now=NOVEMBER_CLOSED)
    assert (closed.paid, closed.failed) == (0, 0)
    assert RebatePayout.objects.get().state == PayoutState.CREATED
    shop.lapse_lease()
    sent = send_payouts(RebatePayout.objects.filter(state=PayoutState.CREATED).select_related("member", "program"))
    assert sent.paid == 1 and shop.card()["balance"] == Decimal("14.00")


def test_without_the_gift_card_permission_payouts_wait(settings):
    settings.SALEOR_REQUEST_TIMEOUT = 2
    granted = tuple(p for p in PERMISSIONS if p != "MANAGE_GIFT_CARD")  # installed before the app asked for it
    with running(permissions=granted) as shop:
        with pytest.raises(SaleorError, match="MANAGE_GIFT_CARD"):
            StoreCreditPayer().pay(shop.request("k1", "10.00"))
        assert shop.shop.gift_cards == {}
        shop.saleor.permission_denials.clear()  # provoked on purpose


def test_a_guest_gets_an_unassigned_card_sent_to_their_email(shop):
    StoreCreditPayer().pay(shop.request("k1", "3.00", user_id=None))
    card = shop.card()
    assert (card["assigned_to"], card["user_email"]) == (None, "shopper@example.com")


def test_on_saleor_3_22_each_payout_is_a_single_use_voucher_paid_once(settings):
    settings.SALEOR_REQUEST_TIMEOUT = 2
    with running("3.22") as shop:
        payer = StoreCreditPayer()
        code = payer.pay(shop.request("k1", "14.00"))
        assert code == voucher_code(shop.install, "k1") and code.startswith("REBATE-")
        voucher = shop.shop.voucher_by_code(code)
        assert voucher["channels"] == {"default-channel": Decimal("14.00")}
        assert voucher["min_spent"] == {"default-channel": Decimal("14.00")}  # no part lost on a smaller order
        assert (voucher["input"]["singleUse"], voucher["input"]["usageLimit"], voucher["input"]["type"]) == (
            True,
            1,
            "ENTIRE_ORDER",
        )
        assert shop.shop.gift_cards == {} and shop.saleor.calls_to("giftCardCreate") == []
        assert Install.objects.get(pk=shop.install.pk).saleor_version == "3.22"
        # A retry after the creation's answer was lost finds the voucher by its code: still one voucher.
        shop.saleor.fail_next("voucherChannelListingUpdate", status=502, executed=True)
        with pytest.raises(SaleorError):
            payer.pay(shop.request("k2", "5.00", payout_id=2))
        assert payer.pay(shop.request("k2", "5.00", payout_id=2)) == voucher_code(shop.install, "k2")
        assert len(shop.shop.vouchers) == 2 and len(shop.saleor.calls_to("voucherCreate")) == 2
        assert StoreCreditPayment.objects.get(key="k2").via == CreditVia.VOUCHER


def test_a_payout_keeps_its_way_of_paying_when_the_store_is_upgraded(settings):
    """Chosen once per payout key: a voucher started on 3.22 is not paid again as a gift card after an upgrade."""
    settings.SALEOR_REQUEST_TIMEOUT = 2
    with running("3.22") as shop:
        shop.saleor.fail_next("voucherChannelListingUpdate", status=502, executed=True)
        with pytest.raises(SaleorError):
            StoreCreditPayer().pay(shop.request("k1", "14.00"))
        shop.saleor.schema_version = "3.23"
        assert StoreCreditPayer().pay(shop.request("k1", "14.00")).startswith("REBATE-")
        assert shop.shop.gift_cards == {} and len(shop.shop.vouchers) == 1


def test_a_3_23_document_sent_to_a_3_22_store_fails_the_test(settings):
    """The harness refuses a `Saleor 3.23+ only` document from an older store, as the store would."""
    with running("3.22") as shop:
        client = SaleorClient(shop.install.saleor_api_url, shop.install.auth_token)
        with pytest.raises(SaleorError):
            client.execute("gift_card_balance_adjust", {"id": "R2lmdENhcmQ6MQ==", "amount": "1.00"})
        assert len(shop.saleor.invalid_documents) == 1
        shop.saleor.invalid_documents.clear()


def test_end_to_end_an_order_accrues_the_period_closes_and_the_card_holds_the_rebate(shop):
    rebate_program(shop.install)
    reconcile_order(shop.install, order("o-1", lines=(line(unit="700.00"),), user_id=USER))
    reconcile_order(shop.install, order("o-2", lines=(line(unit="500.00"),), user_id=USER))  # 3 % of 1,200 = 36.00
    assert isinstance(payer_for("store_credit"), StoreCreditPayer)  # registered by the rebates app
    closed = close_period(shop.install, "2026-11", now=NOVEMBER_CLOSED)
    assert (closed.paid, closed.failed) == (1, 0)
    card = shop.card()
    assert card["balance"] == Decimal("36.00") and card["assigned_to"] == USER
    payout = RebatePayout.objects.get()
    assert (payout.state, payout.reference) == (PayoutState.PAID, f"gift card ****{card['code'][-4:]}")
    progress = rebate_progress(shop.member, "default-channel", "USD", now=datetime(2026, 11, 20, tzinfo=UTC))
    assert progress is not None and progress.store_credit is not None
    assert (progress.store_credit.card, progress.store_credit.credited, progress.store_credit.balance) == (
        f"gift card ****{card['code'][-4:]}",
        Decimal("36.00"),
        Decimal("36.00"),
    )
    assert shop.shop.pay_with_gift_card(card["code"], "36.00", user_id=USER) == "AUTHORIZATION_SUCCESS"
    assert ledger_problems(shop.install, "USD") == []
