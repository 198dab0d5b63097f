"""Security probe #8, finding 3: concurrent redemptions on one checkout must not leak live vouchers.

One redemption per checkout holds under concurrency (real PostgreSQL connections, one per thread, and the fake
store on its real HTTP port): the calls queue on the checkout and each replaces the last, or get a clear error —
never "internal error". Every voucher the app creates ends up on the ACTIVE redemption or deleted, and the held
points match. The abandoned-redemption sweep also deletes vouchers the app created that no open redemption owns.
"""

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.db.models import QuerySet
from django.utils import timezone

from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.redemption import actions
from saleor_loyalty.redemption.actions import RedeemRequest, expire_abandoned, new_code
from saleor_loyalty.redemption.errors import RedemptionError
from saleor_loyalty.redemption.models import OPEN_STATUSES, Redemption, RedemptionStatus
from saleor_loyalty.saleor.tokens import Shopper
from tests.fake_store import FakeStore
from tests.saleor_harness import global_id
from tests.storefront import CANCEL, REDEEM, Store, gql, running_store
from tests.test_concurrency import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

CLEAR_ERRORS = {"ALREADY_IN_PROGRESS", "RATE_LIMITED", "INSUFFICIENT_POINTS"}


@pytest.fixture
def store(transactional_db) -> Iterator[Store]:
    with running_store() as running:
        program = program_settings(running.install)
        program.redemption_rate_limit_per_minute = 1000  # the race, not the rate limit, is under test
        program.save()
        yield running


def _assert_one_redemption_and_no_stray_voucher(store: Store, checkout: str, funded: int) -> Redemption:
    open_ = list(Redemption.objects.filter(checkout_id=checkout, status__in=OPEN_STATUSES))
    assert len(open_) == 1, open_
    active = open_[0]
    assert active.status == RedemptionStatus.ACTIVE
    assert set(store.shop.vouchers) == {active.voucher_id}  # every other voucher the app made was deleted
    assert store.shop.checkouts[checkout]["voucher_code"] == active.voucher_code
    for other in Redemption.objects.exclude(pk=active.pk):
        assert other.status in (RedemptionStatus.CANCELLED, RedemptionStatus.FAILED), other
    balances = member_balances(store.member())
    assert (balances.held, balances.available) == (active.points, funded - active.points)
    assert integrity_problems(store.install.pk) == []
    return active


def test_concurrent_redeem_mutations_on_one_checkout_leave_one_redemption_and_no_live_stray_voucher(store):
    store.give_points(3000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    token = store.token()

    def redeem(index: int) -> dict:
        return gql(REDEEM, {"checkoutId": checkout, "key": f"race-{index}", "points": 300 + index}, token=token)

    results = run_in_threads(16, redeem)
    payloads = []
    for result in results:
        assert isinstance(result, dict), result
        assert "errors" not in result, result  # an uncaught exception answers "internal error"
        payloads.append(result["data"]["redeemPoints"])
    for payload in payloads:
        assert {error["code"] for error in payload["errors"]} <= CLEAR_ERRORS, payload
    assert [payload for payload in payloads if not payload["errors"]]  # some succeeded, each replacing the last
    _assert_one_redemption_and_no_stray_voucher(store, checkout, 3000)


def test_concurrent_redeem_actions_with_one_key_make_one_redemption(store):
    member = store.give_points(3000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    shopper = Shopper(install=store.install, user_id="VXNlcjox", email="shopper@example.com", token=store.token())
    request = RedeemRequest(checkout_id=checkout, idempotency_key="one-key", points=500)

    results = run_in_threads(12, lambda _: actions.redeem(shopper, request))
    for result in results:
        assert isinstance(result, Redemption) or (
            isinstance(result, RedemptionError) and result.code in CLEAR_ERRORS
        ), result
    assert {r.pk for r in results if isinstance(r, Redemption)} == {Redemption.objects.get().pk}
    active = _assert_one_redemption_and_no_stray_voucher(store, checkout, 3000)
    assert active.points == 500 and member_balances(member).held == 500


def test_concurrent_redeems_and_cancels_never_leave_a_stray_voucher(store):
    store.give_points(3000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    token = store.token()

    def act(index: int) -> dict:
        if index % 3 == 2:
            return gql(CANCEL, {"checkoutId": checkout}, token=token)
        return gql(REDEEM, {"checkoutId": checkout, "key": f"mix-{index}", "points": 200}, token=token)

    results = run_in_threads(15, act)
    for result in results:
        assert isinstance(result, dict) and "errors" not in result, result
        payload = result["data"].get("redeemPoints") or result["data"]["cancelRedemption"]
        assert {error["code"] for error in payload["errors"]} <= CLEAR_ERRORS | {"NOT_FOUND"}, payload
    open_ = list(Redemption.objects.filter(status__in=OPEN_STATUSES))
    assert len(open_) <= 1
    assert set(store.shop.vouchers) == {r.voucher_id for r in open_}
    balances = member_balances(store.member())
    assert balances.held == sum(r.points for r in open_)
    assert integrity_problems(store.install.pk) == []


def test_a_voucher_made_for_a_redemption_cancelled_meanwhile_is_deleted(store):
    """If the redemption is undone while Saleor creates its voucher (a sweep, a cancel), the new voucher must not
    stay live: the app deletes it and says so, and the points stay the shopper's."""
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    create = store.saleor.resolvers["voucherCreate"]

    def create_then_cancel(call, **kwargs):
        created = create(call, **kwargs)
        # the redemption is undone by someone else between Saleor's answer and the app's next write
        thread = threading.Thread(
            target=lambda: Redemption.objects.filter(checkout_id=checkout).update(status=RedemptionStatus.CANCELLED)
        )
        thread.start()
        thread.join()
        return created

    store.saleor.resolvers["voucherCreate"] = create_then_cancel
    result = gql(REDEEM, {"checkoutId": checkout, "key": "k", "points": 400}, token=store.token())
    assert "errors" not in result, result
    payload = result["data"]["redeemPoints"]
    assert payload["redemption"] is None and payload["errors"][0]["code"] == "ALREADY_IN_PROGRESS"
    assert store.shop.vouchers == {}
    assert store.shop.checkouts[checkout]["voucher_code"] is None


def _voucher(shop: FakeStore, code: str, *, name: str = "Loyalty: 500 points (#9)", used: int = 0) -> str:
    voucher_id = global_id("Voucher", f"made-elsewhere-{code}")
    shop.vouchers[voucher_id] = {
        "code": code,
        "used": used,
        "input": {"name": name},
        "channels": {"default-channel": 5},
    }
    return voucher_id


def test_the_sweep_deletes_vouchers_left_by_redemptions_no_longer_open(store):
    member = store.give_points(2000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    token = store.token()
    # 1. a replaced redemption whose voucher Saleor would not delete at the time
    first = gql(REDEEM, {"checkoutId": checkout, "key": "a", "points": 300}, token=token)["data"]["redeemPoints"]
    store.saleor.fail_next("voucherDelete", status=500)
    second = gql(REDEEM, {"checkoutId": checkout, "key": "b", "points": 400}, token=token)["data"]["redeemPoints"]
    assert second["errors"] == []
    left_over = store.shop.voucher_by_code(first["redemption"]["voucherCode"])
    assert left_over is not None  # still live in the store, its points given back
    # 2. a worker that died after Saleor made the voucher, before it wrote the voucher's id: only the code is known
    crashed_code = new_code()
    Redemption.objects.create(
        install=store.install,
        member=member,
        idempotency_key="crashed",
        checkout_id=store.shop.add_checkout("VXNlcjox", "20.00"),
        channel_slug="default-channel",
        currency="USD",
        points=100,
        voucher_code=crashed_code,
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    crashed = _voucher(store.shop, crashed_code)
    # and vouchers the sweep must leave alone
    merchants = _voucher(store.shop, "LOYALTY-GOLD", name="Loyalty gold members")
    not_ours = _voucher(store.shop, new_code())  # our pattern, but not on record: another deployment's, say
    spent = _voucher(store.shop, "LOYALTY-SPENT", used=1)
    active_code = second["redemption"]["voucherCode"]

    assert expire_abandoned() == 1  # the dead worker's redemption

    assert store.shop.voucher_by_code(first["redemption"]["voucherCode"]) is None
    assert crashed not in store.shop.vouchers
    assert {merchants, not_ours, spent} <= set(store.shop.vouchers)
    assert store.shop.voucher_by_code(active_code) is not None
    assert store.shop.checkouts[checkout]["voucher_code"] == active_code
    assert store.saleor.calls_to("vouchers")  # searched by code prefix, with a document valid on 3.22 and 3.23
    balances = member_balances(member)
    assert (balances.held, balances.available) == (400, 1600)
    assert integrity_problems(store.install.pk) == []


def test_a_local_write_failing_after_the_voucher_exists_deletes_the_voucher(store, monkeypatch):
    member = store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    shopper = Shopper(install=store.install, user_id="VXNlcjox", email="shopper@example.com", token=store.token())

    update = QuerySet.update

    def failing_update(queryset, **fields):  # writing the new voucher's id down fails
        if queryset.model is Redemption and "voucher_id" in fields:
            raise DatabaseError("the database went away")
        return update(queryset, **fields)

    monkeypatch.setattr(QuerySet, "update", failing_update)
    with pytest.raises(DatabaseError):
        actions.redeem(shopper, RedeemRequest(checkout_id=checkout, idempotency_key="k", points=400))
    assert store.saleor.calls_to("voucherCreate") and store.shop.vouchers == {}
    assert Redemption.objects.get().status == RedemptionStatus.FAILED
    assert member_balances(member).available == 1000
    assert integrity_problems(store.install.pk) == []
