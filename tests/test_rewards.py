"""The reward catalog through the storefront API: listing rewards and taking them onto a checkout as vouchers."""

import base64
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import close_old_connections, connections
from django.utils import timezone

from saleor_loyalty.ledger.models import AccountCode
from saleor_loyalty.ledger.queries import integrity_problems, member_balances, program_totals
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.redemption.configuration import create_reward, deactivate_reward
from saleor_loyalty.redemption.models import Redemption, RedemptionStatus, Reward
from tests.factories import later, line, make_install, order
from tests.storefront import CANCEL, gql

pytestmark = pytest.mark.django_db

SHOPPER = "VXNlcjox"
VARIANT = "UHJvZHVjdFZhcmlhbnQ6MQ=="  # the variant on every FakeStore checkout line

REWARDS = """
query Rewards($channel: String!) {
  rewards(channel: $channel) { id name kind pointsCost value maxAmount variantId endsAt affordable }
}
"""

REDEEM_REWARD = """
mutation RedeemReward($checkoutId: ID!, $rewardId: ID!, $key: String!) {
  redeemReward(checkoutId: $checkoutId, rewardId: $rewardId, idempotencyKey: $key) {
    redemption { id points status voucherCode discount { amount currency } reward { id name } }
    balance { available held pending owed }
    errors { field code message }
  }
}
"""


def reward_id(pk: object) -> str:
    return base64.b64encode(f"Reward:{pk}".encode()).decode()


def add_reward(store, name="Reward", kind="FIXED_AMOUNT", points_cost=400, **terms) -> Reward:
    terms.setdefault("channel_slug", "default-channel")
    if kind == "FIXED_AMOUNT":
        terms.setdefault("value", "5")
    return create_reward(store.install, name=name, kind=kind, points_cost=points_cost, **terms)


def redeem_reward(store, checkout_id, reward, key="k1", token=None):
    rid = reward if isinstance(reward, str) else reward_id(reward.pk)
    result = gql(REDEEM_REWARD, {"checkoutId": checkout_id, "rewardId": rid, "key": key}, token=token or store.token())
    assert "errors" not in result, result
    return result["data"]["redeemReward"]


def listed(store, channel="default-channel"):
    result = gql(REWARDS, {"channel": channel}, token=store.token())
    assert "errors" not in result, result
    return result["data"]["rewards"]


# -- the catalog ---------------------------------------------------------------------------------------------


def test_rewards_lists_rewards_on_offer_now_cheapest_first_with_whether_the_shopper_can_afford_them(store):
    store.give_points(500)
    now = timezone.now()
    add_reward(store, "Ten dollars off", points_cost=800, value="10")
    add_reward(store, "Ten percent off", kind="PERCENTAGE", points_cost=200, value="10", max_amount="25")
    add_reward(store, "Free shipping", kind="FREE_SHIPPING", points_cost=500, ends_at=now + timedelta(days=3))
    add_reward(store, "Free mug", kind="FREE_PRODUCT", points_cost=300, variant_id=VARIANT)
    deactivate_reward(add_reward(store, "Withdrawn", points_cost=100))
    add_reward(store, "Not yet", points_cost=100, starts_at=now + timedelta(days=1))
    expired = add_reward(store, "Over", points_cost=100, ends_at=now + timedelta(days=1))
    Reward.objects.filter(pk=expired.pk).update(ends_at=now - timedelta(seconds=1))
    add_reward(store, "Started", points_cost=900, starts_at=now - timedelta(days=1))
    add_reward(store, "Japan only", points_cost=100, channel_slug="jp")
    create_reward(
        make_install(), name="Other store", kind="FREE_SHIPPING", points_cost=1, channel_slug="default-channel"
    )

    rewards = listed(store)

    assert [(r["name"], r["pointsCost"], r["affordable"]) for r in rewards] == [
        ("Ten percent off", 200, True),
        ("Free mug", 300, True),
        ("Free shipping", 500, True),  # exactly the available points
        ("Ten dollars off", 800, False),
        ("Started", 900, False),
    ]
    percent, mug, shipping, fixed = rewards[:4]
    assert (percent["kind"], Decimal(percent["value"]), Decimal(percent["maxAmount"])) == (
        "PERCENTAGE",
        Decimal(10),
        Decimal(25),
    )
    assert (mug["kind"], mug["variantId"], mug["value"]) == ("FREE_PRODUCT", VARIANT, None)
    assert (shipping["kind"], shipping["value"], shipping["endsAt"] is not None) == ("FREE_SHIPPING", None, True)
    assert (fixed["kind"], Decimal(fixed["value"]), fixed["maxAmount"]) == ("FIXED_AMOUNT", Decimal(10), None)
    assert fixed["id"] == reward_id(Reward.objects.get(name="Ten dollars off").pk)
    assert [r["name"] for r in listed(store, "jp")] == ["Japan only"]


def test_points_held_on_a_checkout_do_not_count_as_affordable(store):
    store.give_points(500)
    add_reward(store, "Cheap", points_cost=200)
    add_reward(store, "Dear", points_cost=500)
    assert [r["affordable"] for r in listed(store)] == [True, True]
    checkout = store.shop.add_checkout(SHOPPER, "50.00")
    assert redeem_reward(store, checkout, Reward.objects.get(name="Cheap"))["errors"] == []
    assert [r["affordable"] for r in listed(store)] == [True, False]  # 300 available, 200 held


def test_rewards_need_a_shopper_token(store):
    add_reward(store)
    assert gql(REWARDS, {"channel": "default-channel"})["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# -- each kind becomes the right voucher ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "shipping", "voucher", "channel_value", "discount"),
    [
        pytest.param(
            {"kind": "FIXED_AMOUNT", "value": "5"},
            "0",
            {"type": "ENTIRE_ORDER", "discountValueType": "FIXED", "applyOncePerOrder": False},
            Decimal("5.00"),
            "5.00",
            id="fixed-amount",
        ),
        pytest.param(
            {"kind": "FIXED_AMOUNT", "value": "80"},
            "0",
            {"type": "ENTIRE_ORDER", "discountValueType": "FIXED"},
            Decimal("50.00"),  # never more than the subtotal
            "50.00",
            id="fixed-amount-above-subtotal",
        ),
        pytest.param(
            {"kind": "PERCENTAGE", "value": "10"},
            "0",
            {"type": "ENTIRE_ORDER", "discountValueType": "PERCENTAGE"},
            Decimal(10),
            "5.00",
            id="percentage",
        ),
        pytest.param(
            {"kind": "PERCENTAGE", "value": "20", "max_amount": "15"},
            "0",
            {"type": "ENTIRE_ORDER", "discountValueType": "PERCENTAGE"},
            Decimal(20),  # 20% of 50.00 is 10.00, under the cap: stays a percentage
            "10.00",
            id="percentage-under-its-cap",
        ),
        pytest.param(
            {"kind": "PERCENTAGE", "value": "20", "max_amount": "4"},
            "0",
            {"type": "ENTIRE_ORDER", "discountValueType": "FIXED"},
            Decimal("4.00"),  # 20% of 50.00 would be 10.00: capped, as a fixed amount
            "4.00",
            id="percentage-capped",
        ),
        pytest.param(
            {"kind": "FREE_SHIPPING"},
            "7.50",
            {"type": "SHIPPING", "discountValueType": "PERCENTAGE"},
            Decimal(100),
            "7.50",
            id="free-shipping",
        ),
        pytest.param(
            {"kind": "FREE_PRODUCT", "variant_id": VARIANT},
            "0",
            {"type": "SPECIFIC_PRODUCT", "discountValueType": "PERCENTAGE", "variants": [VARIANT]},
            Decimal(100),
            "50.00",
            id="free-product",
        ),
    ],
)
def test_each_kind_of_reward_becomes_its_voucher_and_an_order_with_the_code_spends_the_points(
    store, terms, shipping, voucher, channel_value, discount
):
    member = store.give_points(1000)
    reward = add_reward(store, "The reward", points_cost=400, **terms)
    checkout = store.shop.add_checkout(SHOPPER, "50.00", shipping=shipping)

    payload = redeem_reward(store, checkout, reward)

    assert payload["errors"] == []
    redemption = payload["redemption"]
    assert (redemption["status"], redemption["points"]) == ("ACTIVE", 400)
    assert redemption["discount"] == {"amount": discount, "currency": "USD"}
    assert redemption["reward"] == {"id": reward_id(reward.pk), "name": "The reward"}
    assert payload["balance"] == {"available": 600, "held": 400, "pending": 0, "owed": 0}
    code = redemption["voucherCode"]
    created = store.shop.voucher_by_code(code)
    assert created is not None and len(store.shop.vouchers) == 1
    assert {key: created["input"][key] for key in voucher} == voucher
    assert created["input"]["singleUse"] is True and created["input"]["usageLimit"] == 1
    assert created["input"]["applyOncePerOrder"] is (terms["kind"] == "FREE_PRODUCT")
    assert ("variants" in created["input"]) is (terms["kind"] == "FREE_PRODUCT")
    assert created["channels"] == {"default-channel": channel_value}
    assert store.shop.checkouts[checkout]["voucher_code"] == code
    assert Redemption.objects.get().reward == reward

    store.shop.use_code(checkout)
    reconcile_order(store.install, later(order("order-1", lines=(line(unit="45.00"),)), voucher_code=code))

    balances = member_balances(member)
    assert (balances.available, balances.held) == (600, 0)
    captured = Redemption.objects.get()
    assert (captured.status, captured.order_id) == (RedemptionStatus.CAPTURED, "order-1")
    assert program_totals(store.install.pk)[AccountCode.REDEEMED] == 400
    assert integrity_problems(store.install.pk) == []


def test_a_repeated_request_takes_the_reward_once(store):
    store.give_points(1000)
    reward = add_reward(store, points_cost=400)
    checkout = store.shop.add_checkout(SHOPPER, "50.00")
    first = redeem_reward(store, checkout, reward, key="same")
    again = redeem_reward(store, checkout, reward, key="same")
    assert again["redemption"] == first["redemption"]
    assert again["balance"]["held"] == 400 and len(store.shop.vouchers) == 1


def test_a_reward_worth_nothing_on_the_checkout_is_refused(store):
    store.give_points(1000)
    reward = add_reward(store, kind="PERCENTAGE", value="10", points_cost=400)
    checkout = store.shop.add_checkout(SHOPPER, "0.00")
    payload = redeem_reward(store, checkout, reward)
    assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == ("INVALID", "rewardId")
    assert payload["balance"]["held"] == 0 and store.shop.vouchers == {}


# -- limits -------------------------------------------------------------------------------------------------


def test_a_shopper_cannot_take_a_reward_more_often_than_its_limit(store):
    store.give_points(2000)
    reward = add_reward(store, points_cost=400, per_shopper_limit=2)
    codes = []
    for n in range(3):
        checkout = store.shop.add_checkout(SHOPPER, "50.00")
        codes.append([e["code"] for e in redeem_reward(store, checkout, reward, key=f"k{n}")["errors"]])
    assert codes == [[], [], ["LIMIT_REACHED"]]
    assert member_balances(store.member()).held == 800
    assert len(store.shop.vouchers) == 2
    assert Redemption.objects.count() == 2


def test_a_spent_reward_counts_towards_the_limit(store):
    store.give_points(2000)
    reward = add_reward(store, points_cost=400, per_shopper_limit=1)
    checkout = store.shop.add_checkout(SHOPPER, "50.00")
    code = redeem_reward(store, checkout, reward, key="a")["redemption"]["voucherCode"]
    store.shop.use_code(checkout)
    reconcile_order(store.install, later(order("order-1"), voucher_code=code))
    payload = redeem_reward(store, store.shop.add_checkout(SHOPPER, "50.00"), reward, key="b")
    assert payload["errors"][0]["code"] == "LIMIT_REACHED"
    assert payload["balance"]["available"] == 1600 and payload["balance"]["held"] == 0


def test_cancelled_redemptions_do_not_count_towards_the_limit(store):
    store.give_points(2000)
    reward = add_reward(store, points_cost=400, per_shopper_limit=1)
    first = store.shop.add_checkout(SHOPPER, "50.00")
    assert redeem_reward(store, first, reward, key="a")["errors"] == []
    cancelled = gql(CANCEL, {"checkoutId": first}, token=store.token())["data"]["cancelRedemption"]
    assert cancelled["errors"] == []
    payload = redeem_reward(store, store.shop.add_checkout(SHOPPER, "50.00"), reward, key="b")
    assert payload["errors"] == []
    assert payload["balance"] == {"available": 1600, "held": 400, "pending": 0, "owed": 0}


def test_the_limit_is_per_shopper(store):
    store.give_points(1000)
    store.give_points(1000, user_id="VXNlcjoy")
    reward = add_reward(store, points_cost=400, per_shopper_limit=1)
    assert redeem_reward(store, store.shop.add_checkout(SHOPPER, "50.00"), reward, key="a")["errors"] == []
    friend = store.token("VXNlcjoy", "friend@example.com")
    checkout = store.shop.add_checkout("VXNlcjoy", "50.00")
    assert redeem_reward(store, checkout, reward, key="b", token=friend)["errors"] == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_cannot_exceed_the_limit(store):
    store.give_points(2000)
    reward = add_reward(store, points_cost=400, per_shopper_limit=1)
    token = store.token()
    checkouts = [store.shop.add_checkout(SHOPPER, "50.00") for _ in range(4)]
    barrier = threading.Barrier(len(checkouts))
    results: list[object] = [None] * len(checkouts)

    def attempt(index: int) -> None:
        close_old_connections()
        try:
            barrier.wait()
            results[index] = redeem_reward(store, checkouts[index], reward, key=f"k{index}", token=token)
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(checkouts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    codes = sorted(tuple(e["code"] for e in r["errors"]) for r in results if isinstance(r, dict))
    assert codes == [(), ("LIMIT_REACHED",), ("LIMIT_REACHED",), ("LIMIT_REACHED",)], results
    assert member_balances(store.member()).held == 400
    assert Redemption.objects.filter(status=RedemptionStatus.ACTIVE).count() == 1
    assert len(store.shop.vouchers) == 1
    assert integrity_problems(store.install.pk) == []


# -- refusals -----------------------------------------------------------------------------------------------


def _withdraw(reward: Reward) -> None:
    deactivate_reward(reward)


def _expire(reward: Reward) -> None:
    Reward.objects.filter(pk=reward.pk).update(ends_at=timezone.now() - timedelta(seconds=1))


def _postpone(reward: Reward) -> None:
    Reward.objects.filter(pk=reward.pk).update(starts_at=timezone.now() + timedelta(hours=1))


def _move_to_jp(reward: Reward) -> None:
    Reward.objects.filter(pk=reward.pk).update(channel_slug="jp")


def _move_to_another_store(reward: Reward) -> None:
    Reward.objects.filter(pk=reward.pk).update(install=make_install())


def _delete(reward: Reward) -> None:
    reward.delete()


@pytest.mark.parametrize("change", [_withdraw, _expire, _postpone, _move_to_jp, _move_to_another_store, _delete])
def test_a_reward_not_on_offer_in_the_checkouts_channel_now_is_not_found(store, change):
    store.give_points(1000)
    reward = add_reward(store, points_cost=400)
    rid = reward_id(reward.pk)
    change(reward)
    checkout = store.shop.add_checkout(SHOPPER, "50.00")
    payload = redeem_reward(store, checkout, rid)
    assert payload["redemption"] is None
    assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == ("NOT_FOUND", "rewardId")
    assert payload["balance"] == {"available": 1000, "held": 0, "pending": 0, "owed": 0}
    assert store.shop.vouchers == {} and not Redemption.objects.exists()


def test_a_shopper_without_enough_points_gets_nothing_and_keeps_every_point(store):
    store.give_points(600)
    cheap = add_reward(store, "Cheap", points_cost=300)
    dear = add_reward(store, "Dear", points_cost=400)
    assert redeem_reward(store, store.shop.add_checkout(SHOPPER, "50.00"), cheap, key="a")["errors"] == []
    checkout = store.shop.add_checkout(SHOPPER, "50.00")

    payload = redeem_reward(store, checkout, dear, key="b")  # 600 points, but 300 of them are held

    assert payload["redemption"] is None
    assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == ("INSUFFICIENT_POINTS", "points")
    assert "300" in payload["errors"][0]["message"]
    assert payload["balance"] == {"available": 300, "held": 300, "pending": 0, "owed": 0}
    assert len(store.shop.vouchers) == 1 and store.shop.checkouts[checkout]["voucher_code"] is None
    assert list(Redemption.objects.values_list("reward__name", flat=True)) == ["Cheap"]
    assert integrity_problems(store.install.pk) == []


@pytest.mark.parametrize(
    "bad_id",
    [
        "not base64!",
        base64.b64encode(b"Redemption:1").decode(),  # another type's id
        base64.b64encode(b"Reward:one").decode(),
        "",
    ],
)
def test_a_malformed_reward_id_is_a_clear_error_and_changes_nothing(store, bad_id):
    store.give_points(1000)
    add_reward(store, points_cost=400)
    checkout = store.shop.add_checkout(SHOPPER, "50.00")
    result = gql(REDEEM_REWARD, {"checkoutId": checkout, "rewardId": bad_id, "key": "k1"}, token=store.token())
    assert result.get("data") is None  # no payload at all: the request failed as a whole
    error = result["errors"][0]
    assert error["extensions"]["code"] == "INVALID"
    assert error["message"] == f"not a Reward id: {bad_id!r}"
    assert error["path"] == ["redeemReward"]
    assert member_balances(store.member()).available == 1000
    assert store.shop.vouchers == {} and not Redemption.objects.exists()


def test_a_reward_id_beyond_any_row_is_not_found(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout(SHOPPER, "50.00")
    payload = redeem_reward(store, checkout, reward_id(10**20))
    assert payload["errors"][0]["code"] == "NOT_FOUND"
    assert store.shop.vouchers == {} and not Redemption.objects.exists()


def test_a_free_product_reward_needs_the_product_in_the_checkout(store):
    store.give_points(1000)
    reward = add_reward(
        store, "Free socks", kind="FREE_PRODUCT", points_cost=300, variant_id="UHJvZHVjdFZhcmlhbnQ6OTk="
    )
    checkout = store.shop.add_checkout("VXNlcjox", "40.00")
    result = redeem_reward(store, checkout, reward)
    assert result["errors"][0]["code"] == "INVALID"
    assert store.shop.vouchers == {} and member_balances(store.member()).held == 0


def test_redeeming_a_limited_reward_again_on_the_same_checkout_replaces_it(store):
    store.give_points(1000)
    reward = add_reward(store, "Five off", value="5.00", points_cost=300, per_shopper_limit=1)
    checkout = store.shop.add_checkout("VXNlcjox", "40.00")
    assert redeem_reward(store, checkout, reward, key="first")["errors"] == []
    assert redeem_reward(store, checkout, reward, key="again")["errors"] == []
    assert member_balances(store.member()).held == 300


def test_an_idempotency_key_reused_for_another_reward_is_refused(store):
    store.give_points(1000)
    five = add_reward(store, "Five off", value="5.00", points_cost=300)
    ten = add_reward(store, "Ten off", value="10.00", points_cost=600)
    checkout = store.shop.add_checkout("VXNlcjox", "40.00")
    assert redeem_reward(store, checkout, five, key="same")["errors"] == []
    assert redeem_reward(store, checkout, ten, key="same")["errors"][0]["code"] == "IDEMPOTENCY_CONFLICT"
