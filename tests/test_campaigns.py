"""Bonus campaigns: time-boxed multipliers and fixed bonuses, by channel, product, category and tier."""

from datetime import timedelta
from decimal import Decimal

import pytest

from saleor_loyalty.ledger.models import Lot
from saleor_loyalty.program.models import Campaign, OrderAward
from saleor_loyalty.program.orders import reconcile_order
from tests.factories import T0, later, line, make_install, order

pytestmark = pytest.mark.django_db


def campaign(install, **terms):
    defaults = {"name": "Double points", "starts_at": T0 - timedelta(days=1), "ends_at": T0 + timedelta(days=1)}
    return Campaign.objects.create(install=install, **{**defaults, **terms})


def points_of(install, snapshot):
    reconcile_order(install, snapshot)
    return OrderAward.objects.get(install=install, order_id=snapshot.id).exact_points


def test_a_campaign_multiplies_orders_placed_in_its_window():
    install = make_install()
    campaign(install, multiplier=Decimal(2))
    assert points_of(install, order("in-window")) == Decimal(200)
    outside = order("outside")
    outside = later(outside, created=T0 + timedelta(days=2))
    assert points_of(install, outside) == Decimal(100)


def test_overlapping_campaigns_take_the_highest_multiplier_and_add_fixed_bonuses():
    install = make_install()
    campaign(install, multiplier=Decimal(2), fixed_bonus=10)
    campaign(install, name="Triple", multiplier=Decimal(3), fixed_bonus=5)
    assert points_of(install, order()) == Decimal(315)


def test_a_campaign_limited_to_a_category_boosts_only_those_lines():
    install = make_install()
    campaign(install, multiplier=Decimal(2), category_ids=["shoes"])
    snapshot = order(lines=(line("a", unit="50.00", category_id="shoes"), line("b", unit="30.00", category_id="hats")))
    assert points_of(install, snapshot) == Decimal(130)


def test_a_campaign_for_another_channel_does_not_apply():
    install = make_install()
    campaign(install, multiplier=Decimal(2), channel_slug="eu")
    assert points_of(install, order()) == Decimal(100)


def test_a_tier_only_campaign_skips_members_without_that_tier():
    install = make_install()
    campaign(install, multiplier=Decimal(5), tiers=["Gold"])
    assert points_of(install, order()) == Decimal(100)


def test_the_lot_records_the_campaign_and_a_refund_keeps_the_frozen_terms():
    install = make_install()
    promo = campaign(install, multiplier=Decimal(2), fixed_bonus=20)
    snapshot = order(lines=(line(quantity=2, unit="50.00"),))
    reconcile_order(install, snapshot)
    lot = Lot.objects.get(source="order")
    assert lot.rule["campaigns"][0]["campaign_id"] == promo.pk
    promo.delete()
    reconcile_order(
        install, later(snapshot, total_charged=Decimal(50), total_refunded=Decimal(50), charge_status="PARTIAL")
    )
    assert OrderAward.objects.get().exact_points == Decimal(110)  # (100 × 2 + 20) × ½


def test_editing_a_campaign_never_changes_what_orders_already_earned_by_it_nor_their_clawback():
    from saleor_loyalty.program.configuration import update_campaign

    install = make_install()
    promo = campaign(install, multiplier=Decimal(2), fixed_bonus=20)
    earned = order("earned", lines=(line(quantity=2, unit="50.00"),))
    assert points_of(install, earned) == Decimal(220)  # 100 × 2 + 20
    update_campaign(promo, {"multiplier": "3", "fixed_bonus": 50}, actor="m@shop.example", now=T0)
    promo.refresh_from_db()
    assert promo.multiplier == 3
    # Placed under the campaign and earning only now: the new terms.
    assert points_of(install, order("after-the-edit")) == Decimal(350)  # 100 × 3 + 50
    # The earlier order's half refund takes back half of what it earned at ×2, not of ×3.
    reconcile_order(
        install, later(earned, total_charged=Decimal(50), total_refunded=Decimal(50), charge_status="PARTIAL")
    )
    award = OrderAward.objects.get(order_id="earned")
    assert (award.exact_points, award.points) == (Decimal(110), 110)
    assert award.rule is not None
    assert award.rule["campaigns"][0]["multiplier"] == "2.0000" and award.rule["campaigns"][0]["fixed_bonus"] == 20
    assert Lot.objects.get(order_id="earned").rule["campaigns"][0]["multiplier"] == "2.0000"


@pytest.mark.parametrize(
    ("status", "changes", "refused"),
    [
        ("scheduled", {"starts_at": T0 - timedelta(days=1)}, "starts_at"),
        ("running", {"starts_at": T0 - timedelta(days=2)}, "starts_at"),
        ("running", {"ends_at": T0 - timedelta(hours=1)}, "ends_at"),
        ("ended", {"multiplier": "3"}, "multiplier"),
        ("ended", {"ends_at": T0 + timedelta(days=5)}, "ends_at"),
        ("stopped", {"tiers": ["Gold"]}, "tiers"),
        ("running", {"is_active": True}, "is_active"),
    ],
)
def test_a_campaign_edit_that_would_rewrite_its_past_is_refused(status, changes, refused):
    from saleor_loyalty.program.configuration import InvalidRule, deactivate_campaign, update_campaign

    install = make_install()
    start = {"scheduled": T0 + timedelta(days=1), "ended": T0 - timedelta(days=5)}.get(status, T0 - timedelta(days=1))
    promo = campaign(install, multiplier=Decimal(2), starts_at=start, ends_at=start + timedelta(days=2))
    if status == "stopped":
        deactivate_campaign(promo)
    with pytest.raises(InvalidRule) as refusal:
        update_campaign(promo, changes, now=T0)
    assert refusal.value.field == refused
    promo.refresh_from_db()
    assert (promo.multiplier, promo.starts_at, promo.tiers) == (2, start, [])


@pytest.mark.parametrize("status", ["ended", "stopped"])
def test_a_campaign_that_ran_can_still_be_renamed(status):
    from saleor_loyalty.program.configuration import deactivate_campaign, update_campaign
    from saleor_loyalty.program.models import SettingsChange

    install = make_install()
    promo = campaign(install, multiplier=Decimal(2), starts_at=T0 - timedelta(days=5), ends_at=T0 - timedelta(days=3))
    if status == "stopped":
        deactivate_campaign(promo, actor="ops")
    update_campaign(promo, {"name": "Black Friday 2026"}, actor="m@shop.example", now=T0)
    change = SettingsChange.objects.filter(actor="m@shop.example").get()
    assert (change.before, change.after) == ({"name": "Double points"}, {"name": "Black Friday 2026"})


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({"multiplier": "0.5"}, "at least 1"),
        ({"multiplier": "1", "fixed_bonus": 0}, "needs a multiplier"),
        ({"ends_at": T0 - timedelta(days=2)}, "end after"),
        ({"fixed_bonus": -1}, "fixed_bonus"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_campaigns_are_refused(terms, message):
    from saleor_loyalty.program.configuration import InvalidRule, create_campaign

    install = make_install()
    arguments = {
        "name": "Promo",
        "starts_at": T0 - timedelta(days=1),
        "ends_at": T0 + timedelta(days=1),
        "multiplier": "2",
        **terms,
    }
    with pytest.raises(InvalidRule, match=message):
        create_campaign(install, **arguments)
    assert not Campaign.objects.exists()


def test_add_campaign_command():
    from django.core.management import call_command

    install = make_install()
    call_command(
        "add_campaign",
        "--install",
        install.saleor_api_url,
        "--name",
        "Black Friday",
        "--starts",
        "2026-11-27T00:00",
        "--ends",
        "2026-11-30T00:00",
        "--multiplier",
        "3",
        "--category",
        "Q2F0ZWdvcnk6MQ==",
        stdout=__import__("io").StringIO(),
    )
    saved = Campaign.objects.get()
    assert (saved.multiplier, saved.category_ids, saved.starts_at.tzinfo is not None) == (
        Decimal(3),
        ["Q2F0ZWdvcnk6MQ=="],
        True,
    )


def test_a_gold_member_earns_by_the_tier_multiplier_and_gold_only_campaigns():
    from tests.test_tiers import setup_tiers

    install = make_install()
    setup_tiers(install)
    campaign(install, name="Gold week", multiplier=Decimal(2), tiers=["Gold"])
    reconcile_order(install, order("big", lines=(line(unit="1000.00"),)))  # qualifies for Gold at once
    award = OrderAward.objects.get(order_id="big")
    # earned before the upgrade it caused: base rate, no Gold campaign
    assert award.rule is not None and award.rule["tier"] is None
    later_order = order("next", lines=(line(unit="100.00"),))
    assert points_of(install, later_order) == Decimal(300)  # 100 × 1.5 (Gold) × 2 (Gold week)
    assert (OrderAward.objects.get(order_id="next").rule or {})["tier"] == "Gold"
