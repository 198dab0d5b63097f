"""Tiers: upgrades on orders, reviews with grace, retain thresholds and pins, windows, bonuses, metadata, API."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from saleor_loyalty.ledger.models import Lot, Transfer
from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.tiers import effects, review
from saleor_loyalty.tiers.configuration import (
    InvalidTierConfig,
    configure_tiers,
    pin_tier,
    set_tier,
    unpin_tier,
)
from saleor_loyalty.tiers.metadata import mirror_tier_metadata
from saleor_loyalty.tiers.models import MemberTier, Tier, TierChange
from saleor_loyalty.tiers.queries import earn_multiplier, tier_name
from saleor_loyalty.tiers.tasks import review_tiers
from tests.factories import later, line, order
from tests.storefront import gql

pytestmark = pytest.mark.django_db

USER = "VXNlcjox"


def setup_tiers(install, **program):
    configure_tiers(
        install, **{"basis": "spend", "window_kind": "rolling", "window_days": 365, "grace_days": 30, **program}
    )
    set_tier(install, name="Bronze", rank=1, thresholds={"USD": "100", "EUR": "90"}, perks=["Birthday gift"])
    set_tier(
        install,
        name="Silver",
        rank=2,
        thresholds={"USD": "500", "EUR": "450"},
        retain={"USD": "400"},
        multiplier="1.25",
        bonus_points=100,
        perks=["Free shipping"],
        access=["sale_preview"],
    )
    set_tier(
        install,
        name="Gold",
        rank=3,
        thresholds={"USD": "1000", "EUR": "900"},
        multiplier="1.5",
        bonus_points=500,
        perks=["Free shipping", "Early access"],
        access=["early_access", "sale_preview"],
    )


def tier_of(install, user_id=USER):
    state = MemberTier.objects.filter(member=member_for_user(install, user_id)).select_related("tier").first()
    return state.tier.name if state and state.tier else None


def pay(install, order_id, amount, *, user_id=USER, currency="USD", paid_at=None):
    paid = order(order_id, lines=(line(unit=amount),), user_id=user_id, currency=currency)
    reconcile_order(install, paid)
    if paid_at is not None:
        OrderAward.objects.filter(install=install, order_id=order_id).update(first_paid_at=paid_at)
    return paid


def refund_to(install, paid, kept):
    total = paid.total_gross
    kept_amount = Decimal(kept)
    reconcile_order(
        install,
        later(
            paid,
            total_charged=kept_amount,
            total_refunded=total - kept_amount,
            charge_status="FULL" if kept_amount >= total else ("PARTIAL" if kept_amount > 0 else "NONE"),
        ),
    )


def run_review(install, now):
    with transaction.atomic():
        change_ids = review.run(now=now, install_id=install.pk)
    effects.apply_each(change_ids)
    return change_ids


def bonus_points(install, user_id=USER):
    member = member_for_user(install, user_id)
    return sum(Lot.objects.filter(member=member, source="tier_bonus").values_list("points", flat=True))


# -- upgrades ------------------------------------------------------------------------------------------------


def test_an_order_that_qualifies_upgrades_at_once(install):
    setup_tiers(install)
    pay(install, "o1", "150.00")
    assert tier_of(install) == "Bronze"
    pay(install, "o2", "400.00")
    assert tier_of(install) == "Silver"
    changes = list(TierChange.objects.order_by("id").values_list("from_tier__name", "to_tier__name", "reason"))
    assert changes == [(None, "Bronze", "order"), ("Bronze", "Silver", "order")]
    assert earn_multiplier(member_for_user(install, USER)) == Decimal("1.25")
    from saleor_loyalty.notifications.models import Notification

    assert sorted(Notification.objects.filter(kind="tier_up").values_list("kind", "key")) == sorted(
        [("tier_up", f"tier_up:{pk}") for pk in TierChange.objects.values_list("pk", flat=True)]
    )


def test_no_tiers_no_change_and_multiplier_one(install):
    pay(install, "o1", "5000.00")
    assert MemberTier.objects.count() == 0
    assert earn_multiplier(member_for_user(install, USER)) == Decimal(1)


def test_bonus_on_upgrade_once_per_tier_and_period(install):
    setup_tiers(install)
    paid = pay(install, "o1", "1200.00")
    assert tier_of(install) == "Gold"
    assert bonus_points(install) == 600  # Silver's 100 and Gold's 500: both tiers were reached
    bonus = Lot.objects.filter(source="tier_bonus").first()
    assert bonus is not None and bonus.unlocks_at is not None  # pending through the return window
    paid = later(paid, seconds=5)
    reconcile_order(install, paid)  # the same order again
    run_review(install, timezone.now())
    run_review(install, timezone.now())
    assert bonus_points(install) == 600
    # down after a refund and grace, then up again in the same period: no second bonus
    refund_to(install, paid, "0")
    run_review(install, timezone.now())
    run_review(install, timezone.now() + timedelta(days=31))
    assert tier_of(install) is None
    pay(install, "o2", "1200.00")
    assert tier_of(install) == "Gold"
    assert bonus_points(install) == 600


# -- downgrades ----------------------------------------------------------------------------------------------


def test_a_refund_does_not_downgrade_at_once(install):
    setup_tiers(install)
    paid = pay(install, "o1", "600.00")
    assert tier_of(install) == "Silver"
    refund_to(install, paid, "0")
    assert OrderAward.objects.get(order_id="o1").spend == 0
    assert tier_of(install) == "Silver"
    assert TierChange.objects.filter(is_upgrade=False).count() == 0


def test_review_downgrades_only_after_the_grace_period(install):
    setup_tiers(install)
    paid = pay(install, "o1", "600.00")
    refund_to(install, paid, "150.00")
    now = timezone.now()
    assert run_review(install, now) == []
    state = MemberTier.objects.get()
    assert tier_of(install) == "Silver" and state.below_since == now
    assert run_review(install, now + timedelta(days=29)) == []
    assert tier_of(install) == "Silver"
    assert len(run_review(install, now + timedelta(days=30))) == 1
    assert tier_of(install) == "Bronze"  # 150 still keeps Bronze
    change = TierChange.objects.latest("id")
    assert (change.from_tier_id, change.to_tier_id, change.reason, change.is_upgrade) == (
        Tier.objects.get(name="Silver").pk,
        Tier.objects.get(name="Bronze").pk,
        "review",
        False,
    )
    assert MemberTier.objects.get().below_since is None


def test_back_above_the_threshold_stops_the_grace_clock(install):
    setup_tiers(install)
    paid = pay(install, "o1", "600.00")
    refund_to(install, paid, "150.00")
    now = timezone.now()
    run_review(install, now)
    assert MemberTier.objects.get().below_since == now
    pay(install, "o2", "300.00")  # 450: above Silver's retain (400), below its qualify (500)
    run_review(install, now + timedelta(days=1))
    assert MemberTier.objects.get().below_since is None
    run_review(install, now + timedelta(days=60))
    assert tier_of(install) == "Silver"


def test_retain_threshold_keeps_the_tier(install):
    setup_tiers(install)
    paid = pay(install, "o1", "600.00")
    refund_to(install, paid, "420.00")  # below 500 to qualify, above 400 to retain
    now = timezone.now()
    run_review(install, now)
    run_review(install, now + timedelta(days=90))
    assert tier_of(install) == "Silver"
    assert MemberTier.objects.get().below_since is None
    refund_to(install, later(paid, seconds=2), "390.00")
    run_review(install, now + timedelta(days=91))
    run_review(install, now + timedelta(days=121))
    assert tier_of(install) == "Bronze"


def test_grace_zero_downgrades_at_the_first_review(install):
    setup_tiers(install, grace_days=0)
    paid = pay(install, "o1", "600.00")
    refund_to(install, paid, "0")
    run_review(install, timezone.now())
    assert tier_of(install) is None


def test_a_pin_is_a_floor(install):
    setup_tiers(install)
    paid = pay(install, "o1", "600.00")
    member = member_for_user(install, USER)
    pin_tier(member, "Gold", reason="VIP customer", by="staff@example.com")
    assert tier_of(install) == "Gold"
    change = TierChange.objects.latest("id")
    assert (change.reason, change.note, change.to_tier_id) == ("pin", "VIP customer", Tier.objects.get(name="Gold").pk)
    assert bonus_points(install) == 100  # Silver's, from the order; a pin gives no bonus
    refund_to(install, paid, "0")
    now = timezone.now()
    run_review(install, now)
    run_review(install, now + timedelta(days=400))
    assert tier_of(install) == "Gold"
    assert MemberTier.objects.get().below_since is None

    # a lower pin: the member goes down, but not below it
    pin_tier(member, "Bronze", reason="goodwill")
    run_review(install, now + timedelta(days=401))
    run_review(install, now + timedelta(days=432))
    assert tier_of(install) == "Bronze"
    unpin_tier(member)
    run_review(install, now + timedelta(days=433))
    assert tier_of(install) == "Bronze"  # grace starts only now
    run_review(install, now + timedelta(days=464))
    assert tier_of(install) is None


def test_pin_needs_a_reason_and_a_tier(install):
    setup_tiers(install)
    member = member_for_user(install, USER)
    with pytest.raises(InvalidTierConfig):
        pin_tier(member, "Gold", reason=" ")
    with pytest.raises(InvalidTierConfig):
        pin_tier(member, "Platinum", reason="x")


# -- windows and thresholds ----------------------------------------------------------------------------------


def test_rolling_window_edges(install):
    now = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    start = now - timedelta(days=365)
    pay(install, "in-1", "300.00", user_id="VXNlcjox", paid_at=start + timedelta(seconds=1))
    pay(install, "in-2", "300.00", user_id="VXNlcjox", paid_at=now - timedelta(days=1))
    pay(install, "out-1", "300.00", user_id="VXNlcjoy", paid_at=start - timedelta(seconds=1))
    pay(install, "out-2", "300.00", user_id="VXNlcjoy", paid_at=now - timedelta(days=1))
    pay(install, "edge", "500.00", user_id="VXNlcjoz", paid_at=start)  # the first instant of the window counts
    setup_tiers(install)
    run_review(install, now)
    assert tier_of(install, "VXNlcjox") == "Silver"
    assert tier_of(install, "VXNlcjoy") == "Bronze"
    assert tier_of(install, "VXNlcjoz") == "Silver"
    # a second later the edge order is out of the window: grace starts, the tier stays for now
    run_review(install, now + timedelta(seconds=1))
    assert tier_of(install, "VXNlcjoz") == "Silver"
    assert MemberTier.objects.get(member__saleor_user_id="VXNlcjoz").below_since is not None


def test_calendar_year_qualifies_on_this_year_and_keeps_through_the_next(install):
    pay(install, "o-2026", "600.00", paid_at=datetime(2026, 6, 1, tzinfo=UTC))
    pay(install, "late", "600.00", user_id="VXNlcjoy", paid_at=datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
    setup_tiers(install, window_kind="calendar_year", grace_days=30)
    run_review(install, datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    assert tier_of(install) == "Silver"
    assert tier_of(install, "VXNlcjoy") is None  # paid after that review
    run_review(install, datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC))
    assert tier_of(install, "VXNlcjoy") is None  # last year's spend does not qualify in the new year
    run_review(install, datetime(2027, 12, 31, tzinfo=UTC))
    assert tier_of(install) == "Silver"  # earned in 2026, kept through 2027
    assert MemberTier.objects.get(member__saleor_user_id=USER).below_since is None
    run_review(install, datetime(2028, 1, 1, tzinfo=UTC))
    run_review(install, datetime(2028, 1, 30, tzinfo=UTC))
    assert tier_of(install) == "Silver"
    run_review(install, datetime(2028, 1, 31, tzinfo=UTC))
    assert tier_of(install) is None


def test_thresholds_per_currency_any_one_qualifies(install):
    setup_tiers(install)
    pay(install, "usd", "300.00", user_id="VXNlcjox")
    pay(install, "eur", "460.00", user_id="VXNlcjox", currency="EUR")
    assert tier_of(install, "VXNlcjox") == "Silver"  # EUR 460 meets EUR 450
    pay(install, "usd2", "400.00", user_id="VXNlcjoy")
    pay(install, "eur2", "400.00", user_id="VXNlcjoy", currency="EUR")
    assert tier_of(install, "VXNlcjoy") == "Bronze"  # currencies are never added up
    run_review(install, timezone.now())
    assert (tier_of(install, "VXNlcjox"), tier_of(install, "VXNlcjoy")) == ("Silver", "Bronze")


def test_points_basis(install):
    configure_tiers(install, basis="points", grace_days=0)
    set_tier(install, name="Silver", rank=1, thresholds={"PTS": 500})
    paid = pay(install, "o1", "499.00")
    assert tier_of(install) is None
    pay(install, "o2", "10.00")
    assert tier_of(install) == "Silver"
    refund_to(install, paid, "0")
    run_review(install, timezone.now())
    assert tier_of(install) is None


# -- the review ----------------------------------------------------------------------------------------------


def test_review_twice_gives_the_same_result(install):
    setup_tiers(install)
    paid = pay(install, "a", "1200.00", user_id="VXNlcjox")
    pay(install, "b", "600.00", user_id="VXNlcjoy")
    pay(install, "c", "150.00", user_id="VXNlcjoz")
    refund_to(install, paid, "100.00")
    now = timezone.now() + timedelta(days=40)
    MemberTier.objects.filter(member__saleor_user_id="VXNlcjox").update(below_since=now - timedelta(days=31))
    OrderAward.objects.filter(order_id="c").update(first_paid_at=now - timedelta(days=400))  # aged out

    first = run_review(install, now)
    snapshot = list(MemberTier.objects.order_by("member_id").values_list("member_id", "tier_id", "below_since"))
    counts = (TierChange.objects.count(), Transfer.objects.count())
    assert len(first) == 1  # Gold -> Bronze; the aged-out member starts grace
    assert run_review(install, now) == []
    assert list(MemberTier.objects.order_by("member_id").values_list("member_id", "tier_id", "below_since")) == (
        snapshot
    )
    assert (TierChange.objects.count(), Transfer.objects.count()) == counts
    assert tier_of(install, "VXNlcjox") == "Bronze"
    assert tier_of(install, "VXNlcjoy") == "Silver"
    assert tier_of(install, "VXNlcjoz") == "Bronze"


def test_review_upgrades_members_who_qualified_before_tiers_existed(install):
    pay(install, "o1", "1200.00")
    setup_tiers(install)
    assert review_tiers.delay().get() == 1
    assert tier_of(install) == "Gold"
    assert bonus_points(install) == 600
    assert review_tiers.delay(install.pk).get() == 0
    assert TierChange.objects.get().effects_applied


def test_orders_of_a_merged_guest_count_for_the_customer(install):
    setup_tiers(install)
    from saleor_loyalty.ledger.actions import merge_members
    from saleor_loyalty.members.actions import guest_member

    pay(install, "g1", "600.00", user_id=None)
    guest = guest_member(install, "shopper@example.com")
    customer = member_for_user(install, USER, "shopper@example.com")
    with transaction.atomic():
        merge_members(source=guest, target=customer, key="merge-1")
    run_review(install, timezone.now())
    assert tier_of(install) == "Silver"


# -- configuration -------------------------------------------------------------------------------------------


def test_configuration_is_validated(install):
    with pytest.raises(InvalidTierConfig):
        set_tier(install, name="X", rank=1, thresholds={"USD": "100"}, retain={"USD": "200"})
    with pytest.raises(InvalidTierConfig):
        set_tier(install, name="X", rank=1, thresholds={"DOLLARS": "100"})
    with pytest.raises(InvalidTierConfig):
        set_tier(install, name="X", rank=1, thresholds={"JPY": "100.5"})
    with pytest.raises(InvalidTierConfig):
        set_tier(install, name="X", rank=1, thresholds={"USD": "100"}, access=["Not A Flag"])
    with pytest.raises(InvalidTierConfig):
        configure_tiers(install, basis="visits")
    set_tier(install, name="A", rank=1, thresholds={"USD": "100"})
    with pytest.raises(InvalidTierConfig):
        set_tier(install, name="B", rank=1, thresholds={"USD": "200"})


def test_management_commands(install):
    call_command(
        "set_tier",
        "--install",
        install.saleor_api_url,
        "--basis",
        "spend",
        "--window",
        "rolling:180",
        "--grace-days",
        "14",
        "--name",
        "Gold",
        "--rank",
        "3",
        "--threshold",
        "USD:1000",
        "--threshold",
        "EUR:900",
        "--retain",
        "USD:800",
        "--multiplier",
        "2",
        "--bonus",
        "250",
        "--perk",
        "Free returns",
        "--access",
        "early_access",
    )
    gold = Tier.objects.get(name="Gold")
    assert gold.multiplier == 2 and gold.bonus_points == 250 and gold.access == ["early_access"]
    assert {(t.unit, t.qualify, t.retain) for t in gold.thresholds.all()} == {
        ("USD", Decimal(1000), Decimal(800)),
        ("EUR", Decimal(900), None),
    }
    assert (install.tier_settings.window_days, install.tier_settings.grace_days) == (180, 14)
    call_command(
        "pin_tier", "--install", install.saleor_api_url, "--customer", USER, "--tier", "Gold", "--reason", "influencer"
    )
    assert tier_of(install) == "Gold"
    call_command("pin_tier", "--install", install.saleor_api_url, "--customer", USER, "--unpin")
    assert MemberTier.objects.get().pinned_tier is None


# -- Saleor metadata and the shopper API ---------------------------------------------------------------------


def _metadata_resolver(received):
    def resolve(call, id, input):
        assert call.app_authenticated
        received.append((id, input))
        return {"item": {"__typename": "User"}, "errors": []}

    return resolve


def test_tier_is_mirrored_into_private_metadata(store, django_capture_on_commit_callbacks):
    received: list = []
    store.saleor.resolvers["updatePrivateMetadata"] = _metadata_resolver(received)
    setup_tiers(store.install)
    with django_capture_on_commit_callbacks(execute=True):
        pay(store.install, "o1", "1200.00")
    assert received == [
        (
            USER,
            [
                {"key": "loyalty_tier", "value": "Gold"},
                {"key": "loyalty_access", "value": json.dumps(["early_access", "sale_preview"])},
            ],
        )
    ]
    (call,) = store.saleor.calls_to("updatePrivateMetadata")
    assert call.variables["id"] == USER
    # a downgrade to no tier clears the values
    with django_capture_on_commit_callbacks(execute=True):
        refund_to(store.install, order("o1", lines=(line(unit="1200.00"),)), "0")
        run_review(store.install, timezone.now())
        run_review(store.install, timezone.now() + timedelta(days=31))
    assert received[-1] == (
        USER,
        [{"key": "loyalty_tier", "value": ""}, {"key": "loyalty_access", "value": "[]"}],
    )
    store.saleor.assert_all_documents_valid()


def test_metadata_mirror_retries_when_saleor_fails(store):
    received: list = []
    store.saleor.resolvers["updatePrivateMetadata"] = _metadata_resolver(received)
    setup_tiers(store.install)
    pay(store.install, "o1", "600.00")  # no commit here: the mirror task is run by hand below
    store.saleor.fail_next("updatePrivateMetadata", status=500)
    # throw=False: eager Celery then retries in-process, as a worker would after the backoff
    result = mirror_tier_metadata.apply(args=[store.member().pk], throw=False)
    assert result.successful() and result.result is True
    assert len(store.saleor.calls_to("updatePrivateMetadata")) == 2
    assert received[-1][1][0] == {"key": "loyalty_tier", "value": "Silver"}
    store.saleor.assert_all_documents_valid()


MY_TIER = """
query MyTier($currency: String) {
  myTier(currency: $currency) {
    current { name rank perks multiplier pinned graceEndsAt }
    next { name rank threshold thresholds { amount currency } }
    progress { basis amount amountToGo currency pointsToGo windowStartsAt windowEndsAt }
    history { fromTier toTier reason at }
  }
}
"""


def test_my_tier_query(store):
    setup_tiers(store.install)
    pay(store.install, "o1", "600.00")
    result = gql(MY_TIER, token=store.token())
    assert "errors" not in result, result
    tier = result["data"]["myTier"]
    assert tier["current"] == {
        "name": "Silver",
        "rank": 2,
        "perks": ["Free shipping"],
        "multiplier": "1.25",
        "pinned": False,
        "graceEndsAt": None,
    }
    assert tier["next"]["name"] == "Gold" and tier["next"]["threshold"] == "1000.00"
    assert {(t["currency"], t["amount"]) for t in tier["next"]["thresholds"]} == {
        ("USD", "1000.00"),
        ("EUR", "900.00"),
    }
    progress = tier["progress"]
    assert (progress["basis"], progress["currency"], progress["amountToGo"], progress["pointsToGo"]) == (
        "SPEND",
        "USD",
        "400.00",
        None,
    )
    assert progress["windowEndsAt"] is None and progress["windowStartsAt"]
    assert [(h["fromTier"], h["toTier"], h["reason"]) for h in tier["history"]] == [(None, "Silver", "ORDER")]

    eur = gql(MY_TIER, {"currency": "EUR"}, token=store.token())["data"]["myTier"]
    assert (eur["progress"]["currency"], eur["progress"]["amountToGo"], eur["next"]["threshold"]) == (
        "EUR",
        "900.00",
        "900.00",
    )
    assert "errors" in gql(MY_TIER)  # needs a shopper


def test_my_tier_without_tiers(store):
    result = gql(MY_TIER, token=store.token())
    assert result["data"]["myTier"] == {"current": None, "next": None, "progress": None, "history": []}


# -- the base tier ("everyone starts in Bronze") ------------------------------------------------------------------


def setup_base_tier(install):
    configure_tiers(install, basis="spend", window_kind="rolling", window_days=365, grace_days=0)
    set_tier(install, name="Member", rank=1, thresholds={"USD": "0", "EUR": "0"}, multiplier="1.1", perks=["Gift"])
    set_tier(install, name="Silver", rank=2, thresholds={"USD": "500"}, multiplier="1.25", bonus_points=100)


def test_a_base_tier_holds_everyone_below_the_next_tier_without_stored_state(install):
    setup_base_tier(install)
    member = member_for_user(install, USER)
    assert (tier_name(member), earn_multiplier(member)) == ("Member", Decimal("1.1"))  # before any order
    pay(install, "o1", "100.00")
    assert member_balances(member).pending == 110  # the base tier's multiplier applies
    assert tier_of(install) is None and not TierChange.objects.exists()  # nothing stored, no effects
    pay(install, "o2", "450.00")
    assert tier_of(install) == "Silver" and bonus_points(install) == 100
    run_review(install, now=timezone.now() + timedelta(days=400))  # the orders leave the window
    assert tier_of(install) is None and tier_name(member) == "Member"  # back to the base, never below it
    changes = TierChange.objects.order_by("id").values_list("from_tier__name", "to_tier__name")
    assert list(changes) == [(None, "Silver"), ("Silver", None)]


def test_only_a_rank_1_tier_may_start_at_zero_and_then_in_every_unit(install):
    with pytest.raises(InvalidTierConfig, match="positive"):
        set_tier(install, name="X", rank=2, thresholds={"USD": "0"})
    with pytest.raises(InvalidTierConfig, match="base tier"):
        set_tier(install, name="X", rank=1, thresholds={"USD": "0", "EUR": "10"})
    with pytest.raises(InvalidTierConfig, match="base tier"):
        set_tier(install, name="X", rank=1, thresholds={"USD": "0"}, retain={"USD": "0"})
    assert not Tier.objects.exists()


def test_my_tier_shows_the_base_tier_and_the_way_to_the_next(store):
    setup_base_tier(store.install)
    tier = gql(MY_TIER, token=store.token())["data"]["myTier"]
    assert (tier["current"]["name"], tier["current"]["rank"], tier["current"]["pinned"]) == ("Member", 1, False)
    assert tier["next"]["name"] == "Silver" and tier["progress"]["amountToGo"] == "500.00"


def test_falling_back_to_the_base_tier_mirrors_and_announces_it(store, django_capture_on_commit_callbacks):
    from saleor_loyalty.notifications.models import Notification

    received: list = []
    store.saleor.resolvers["updatePrivateMetadata"] = _metadata_resolver(received)
    setup_base_tier(store.install)
    set_tier(store.install, name="Member", rank=1, thresholds={"USD": "0"}, access=["members_day"])
    with django_capture_on_commit_callbacks(execute=True):
        pay(store.install, "o1", "600.00")
    assert received[-1][1][0] == {"key": "loyalty_tier", "value": "Silver"}
    with django_capture_on_commit_callbacks(execute=True):
        run_review(store.install, timezone.now() + timedelta(days=400))
    assert received[-1] == (
        USER,
        [{"key": "loyalty_tier", "value": "Member"}, {"key": "loyalty_access", "value": '["members_day"]'}],
    )
    contexts = [n.context for n in Notification.objects.order_by("id") if "tier_name" in n.context]
    assert [(c["previous_tier_name"], c["tier_name"]) for c in contexts] == [("Member", "Silver"), ("Silver", "Member")]
    store.saleor.assert_all_documents_valid()


def test_a_base_tier_has_no_bonus_to_reach_and_no_pin(install):
    with pytest.raises(InvalidTierConfig, match="sign-up bonus"):
        set_tier(install, name="Member", rank=1, thresholds={"USD": "0"}, bonus_points=50)
    setup_base_tier(install)
    with pytest.raises(InvalidTierConfig, match="already in it"):
        pin_tier(member_for_user(install, USER), "Member", reason="vip")
    pin_tier(member_for_user(install, USER), "Silver", reason="vip")  # a real tier still pins
    assert tier_of(install) == "Silver"
