"""The merchant's redemption settings: rules and rewards, validated before anything is written; their commands."""

import base64
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.program.models import RedemptionRule
from saleor_loyalty.redemption.configuration import (
    InvalidConfiguration,
    create_reward,
    deactivate_reward,
    set_redemption_rule,
)
from saleor_loyalty.redemption.models import Reward, RewardKind
from saleor_loyalty.redemption.rewards import available_rewards
from saleor_loyalty.redemption.terms import terms_for
from tests.factories import make_install
from tests.storefront import REDEEM, gql

pytestmark = pytest.mark.django_db

VARIANT = "UHJvZHVjdFZhcmlhbnQ6MQ=="


def rule_row(rule: RedemptionRule) -> tuple:
    return (
        rule.channel_slug,
        rule.currency,
        rule.points_per_unit,
        rule.min_points,
        rule.max_points_per_order,
        rule.max_percent_of_subtotal,
        rule.step_points,
        rule.is_active,
    )


# -- redemption rules ---------------------------------------------------------------------------------------


def test_a_redemption_rule_is_saved_and_replaced_per_channel_and_currency(install):
    set_redemption_rule(install, channel_slug="default-channel", currency="usd", points_per_unit=100)
    set_redemption_rule(
        install,
        channel_slug="default-channel",
        currency="USD",
        points_per_unit="50",  # as a command passes it
        min_points="200",
        max_points_per_order="5000",
        max_percent_of_subtotal="50.5",
        step_points="10",
    )
    set_redemption_rule(install, channel_slug="jp", currency="JPY", points_per_unit=1, max_points_per_order=None)
    rules = {(r.channel_slug, r.currency): r for r in RedemptionRule.objects.filter(install=install)}
    assert len(rules) == 2
    assert rule_row(rules["default-channel", "USD"]) == (
        "default-channel",
        "USD",
        50,
        200,
        5000,
        Decimal("50.5"),
        10,
        True,
    )
    assert rule_row(rules["jp", "JPY"]) == ("jp", "JPY", 1, 0, None, Decimal(100), 1, True)


def test_a_rule_may_have_equal_minimum_and_maximum(install):
    rule = set_redemption_rule(
        install, channel_slug="c", currency="USD", points_per_unit=100, min_points=500, max_points_per_order=500
    )
    assert (rule.min_points, rule.max_points_per_order) == (500, 500)


def test_a_rule_replaces_a_deactivated_one_and_is_in_force(install):
    RedemptionRule.objects.create(install=install, channel_slug="c", currency="USD", points_per_unit=7, is_active=False)
    set_redemption_rule(install, channel_slug="c", currency="USD", points_per_unit=25)
    assert terms_for(install, "c", "USD").points_per_unit == 25


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"currency": "US"}, "ISO 4217"),
        ({"currency": "U1D"}, "ISO 4217"),
        ({"currency": ""}, "ISO 4217"),
        ({"channel_slug": ""}, "channel_slug"),
        ({"channel_slug": "   "}, "channel_slug"),
        ({"channel_slug": "c" * 256}, "at most 255"),
        ({"currency": None}, "ISO 4217"),
        ({"points_per_unit": 0}, "points_per_unit"),
        ({"points_per_unit": -100}, "points_per_unit"),
        ({"points_per_unit": 10**6 + 1}, "points_per_unit"),
        ({"points_per_unit": "1.5"}, "points_per_unit"),
        ({"points_per_unit": "abc"}, "points_per_unit"),
        ({"points_per_unit": "--5"}, "points_per_unit"),
        ({"points_per_unit": "²"}, "points_per_unit"),
        ({"points_per_unit": True}, "points_per_unit"),
        ({"points_per_unit": None}, "points_per_unit"),
        ({"points_per_unit": 2.0}, "points_per_unit"),
        ({"min_points": -1}, "min_points"),
        ({"min_points": "many"}, "min_points"),
        ({"max_points_per_order": 0}, "max_points_per_order"),
        ({"min_points": 500, "max_points_per_order": 499}, "must not be below min_points"),
        ({"max_percent_of_subtotal": 0}, "max_percent_of_subtotal"),
        ({"max_percent_of_subtotal": "-5"}, "max_percent_of_subtotal"),
        ({"max_percent_of_subtotal": "100.01"}, "max_percent_of_subtotal"),
        ({"max_percent_of_subtotal": "12.345"}, "at most 2 decimals"),
        ({"max_percent_of_subtotal": "NaN"}, "max_percent_of_subtotal"),
        ({"max_percent_of_subtotal": "Infinity"}, "max_percent_of_subtotal"),
        ({"max_percent_of_subtotal": "half"}, "max_percent_of_subtotal"),
        ({"max_percent_of_subtotal": "1e400"}, "max_percent_of_subtotal"),
        ({"step_points": 0}, "step_points"),
        ({"step_points": "x"}, "step_points"),
    ],
)
def test_invalid_redemption_rules_are_refused_and_nothing_is_written(install, changes, message):
    existing = set_redemption_rule(install, channel_slug="c", currency="USD", points_per_unit=100)
    arguments = {"channel_slug": "c", "currency": "USD", "points_per_unit": 100, **changes}
    with pytest.raises(InvalidConfiguration, match=message):
        set_redemption_rule(install, **arguments)
    assert [rule_row(rule) for rule in RedemptionRule.objects.all()] == [rule_row(existing)]


# -- rewards ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "saved"),
    [
        ({"kind": "FIXED_AMOUNT", "value": "5.50"}, (RewardKind.FIXED_AMOUNT, Decimal("5.5"), None, "")),
        ({"kind": "fixed_amount", "value": 5}, (RewardKind.FIXED_AMOUNT, Decimal(5), None, "")),
        ({"kind": "PERCENTAGE", "value": "12.5"}, (RewardKind.PERCENTAGE, Decimal("12.5"), None, "")),
        ({"kind": "PERCENTAGE", "value": 100, "max_amount": "20"}, (RewardKind.PERCENTAGE, 100, 20, "")),
        ({"kind": RewardKind.FREE_SHIPPING}, (RewardKind.FREE_SHIPPING, None, None, "")),
        ({"kind": "FREE_PRODUCT", "variant_id": VARIANT}, (RewardKind.FREE_PRODUCT, None, None, VARIANT)),
    ],
)
def test_valid_rewards_are_saved(install, terms, saved):
    reward = create_reward(install, name="  A reward ", points_cost=500, channel_slug="default-channel", **terms)
    reward.refresh_from_db()
    assert (reward.kind, reward.value, reward.max_amount, reward.variant_id) == saved
    assert (reward.name, reward.points_cost, reward.channel_slug, reward.is_active) == (
        "A reward",
        500,
        "default-channel",
        True,
    )
    assert list(available_rewards(install, "default-channel")) == [reward]


def test_a_reward_keeps_its_window_limit_and_description(install):
    starts, ends = timezone.now() + timedelta(days=1), timezone.now() + timedelta(days=8)
    reward = create_reward(
        install,
        name="Launch week",
        kind="FREE_SHIPPING",
        points_cost="250",
        channel_slug="c",
        starts_at=starts,
        ends_at=ends,
        per_shopper_limit="1",
        description="One free delivery in launch week.",
    )
    reward.refresh_from_db()
    assert (reward.starts_at, reward.ends_at, reward.per_shopper_limit, reward.points_cost) == (starts, ends, 1, 250)
    assert reward.description == "One free delivery in launch week."
    assert list(available_rewards(install, "c")) == []  # not started yet


NOW = timezone.now()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "name is required"),
        ({"name": "   "}, "name is required"),
        ({"name": "x" * 256}, "at most 255"),
        ({"kind": "DISCOUNT"}, "unknown reward kind"),
        ({"kind": ""}, "unknown reward kind"),
        ({"points_cost": 0}, "points_cost"),
        ({"points_cost": -5}, "points_cost"),
        ({"points_cost": 10**9 + 1}, "points_cost"),
        ({"points_cost": "10.5"}, "points_cost"),
        ({"points_cost": None}, "points_cost"),
        ({"channel_slug": ""}, "channel_slug"),
        # FIXED_AMOUNT: a positive amount, nothing else
        ({"value": None}, "needs value"),
        ({"value": "0"}, "above 0"),
        ({"value": "-5"}, "above 0"),
        ({"value": "1.00001"}, "at most 4 decimals"),
        ({"value": "NaN"}, "finite"),
        ({"value": "ten"}, "must be a number"),
        ({"value": "1e12"}, "at most"),
        ({"max_amount": "3"}, "PERCENTAGE rewards only"),
        ({"variant_id": VARIANT}, "FREE_PRODUCT rewards only"),
        # PERCENTAGE: 0 < percent <= 100, an optional positive cap
        ({"kind": "PERCENTAGE", "value": None}, "needs value"),
        ({"kind": "PERCENTAGE", "value": "0"}, "above 0 and at most 100"),
        ({"kind": "PERCENTAGE", "value": "100.5"}, "above 0 and at most 100"),
        ({"kind": "PERCENTAGE", "value": "10", "max_amount": "0"}, "max_amount"),
        ({"kind": "PERCENTAGE", "value": "10", "max_amount": "-1"}, "max_amount"),
        # FREE_SHIPPING: no value
        ({"kind": "FREE_SHIPPING", "value": "5"}, "takes no value"),
        ({"kind": "FREE_SHIPPING", "value": None, "max_amount": "5"}, "PERCENTAGE rewards only"),
        # FREE_PRODUCT: a variant, no value
        ({"kind": "FREE_PRODUCT", "value": None}, "needs variant_id"),
        ({"kind": "FREE_PRODUCT", "value": None, "variant_id": "  "}, "needs variant_id"),
        ({"kind": "FREE_PRODUCT", "value": "5", "variant_id": VARIANT}, "takes no value"),
        # the window
        ({"starts_at": NOW + timedelta(days=2), "ends_at": NOW + timedelta(days=1)}, "after starts_at"),
        ({"starts_at": NOW + timedelta(days=1), "ends_at": NOW + timedelta(days=1)}, "after starts_at"),
        ({"ends_at": NOW - timedelta(minutes=1)}, "in the past"),
        ({"starts_at": datetime(2030, 1, 1)}, "time zone"),  # naive on purpose
        ({"ends_at": "2030-01-01"}, "date and time"),
        ({"per_shopper_limit": 0}, "per_shopper_limit"),
        ({"per_shopper_limit": "once"}, "per_shopper_limit"),
    ],
)
def test_invalid_rewards_are_refused_and_nothing_is_written(install, changes, message):
    arguments = {
        "name": "Five off",
        "kind": "FIXED_AMOUNT",
        "points_cost": 500,
        "channel_slug": "default-channel",
        "value": "5",
        **changes,
    }
    with pytest.raises(InvalidConfiguration, match=message):
        create_reward(install, **arguments)
    assert not Reward.objects.exists()


def test_a_deactivated_reward_is_no_longer_offered(install):
    reward = create_reward(install, name="Free shipping", kind="FREE_SHIPPING", points_cost=300, channel_slug="c")
    deactivate_reward(reward)
    deactivate_reward(reward)  # idempotent
    reward.refresh_from_db()
    assert reward.is_active is False
    assert list(available_rewards(install, "c")) == []


# -- commands -----------------------------------------------------------------------------------------------


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_set_redemption_rule_command(install):
    output = run(
        "set_redemption_rule",
        *("--install", install.saleor_api_url, "--channel", "default-channel", "--currency", "usd"),
        *("--points-per-unit", "50", "--min-points", "100", "--max-points-per-order", "2000"),
        *("--max-percent", "50", "--step", "10"),
    )
    rule = RedemptionRule.objects.get(install=install)
    assert rule_row(rule) == ("default-channel", "USD", 50, 100, 2000, Decimal(50), 10, True)
    assert output == "rule saved: default-channel/USD: 50 pts = 1 unit\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--points-per-unit", "0"), "points_per_unit"),
        (("--points-per-unit", "1", "--currency", "DOLLARS"), "ISO 4217"),
        (("--points-per-unit", "1", "--max-percent", "150"), "max_percent_of_subtotal"),
        (("--points-per-unit", "1", "--min-points", "10", "--max-points-per-order", "5"), "below min_points"),
        (("--points-per-unit", "1", "--install", "https://unknown.example/graphql/"), "no install"),
    ],
)
def test_set_redemption_rule_command_refuses_bad_input(install, args, message):
    base = ("--install", install.saleor_api_url, "--channel", "c", "--currency", "USD")
    with pytest.raises(CommandError, match=message):
        run("set_redemption_rule", *base, *args)
    assert not RedemptionRule.objects.exists()


def test_add_reward_command(install):
    output = run(
        "add_reward",
        *("--install", install.saleor_api_url, "--channel", "default-channel", "--name", "Ten percent off"),
        *("--kind", "PERCENTAGE", "--points-cost", "800", "--value", "10", "--max-amount", "25"),
        *("--starts-at", "2026-01-01T00:00:00", "--ends-at", "2099-12-31T23:59:59+02:00"),
        *("--per-shopper-limit", "2", "--description", "Once or twice"),
    )
    reward = Reward.objects.get(install=install)
    assert (reward.kind, reward.points_cost, reward.value, reward.max_amount, reward.per_shopper_limit) == (
        RewardKind.PERCENTAGE,
        800,
        Decimal(10),
        Decimal(25),
        2,
    )
    assert reward.starts_at == datetime(2026, 1, 1, tzinfo=UTC)  # UTC when no offset is given
    assert reward.ends_at == datetime(2099, 12, 31, 21, 59, 59, tzinfo=UTC)
    assert output == f"reward {reward.pk} added: Ten percent off (800 pts)\n"


def test_add_reward_command_for_a_free_product(install):
    run(
        "add_reward",
        *("--install", install.saleor_api_url, "--channel", "c", "--name", "Free mug"),
        *("--kind", "free_product", "--points-cost", "1500", "--variant", VARIANT),
    )
    assert Reward.objects.get().variant_id == VARIANT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kind", "FIXED_AMOUNT"), "needs value"),
        (("--kind", "FREE_SHIPPING", "--value", "5"), "takes no value"),
        (("--kind", "FREE_PRODUCT"), "needs variant_id"),
        (("--kind", "GIFT"), "unknown reward kind"),
        (("--kind", "FREE_SHIPPING", "--ends-at", "next week"), "ISO 8601"),
        (("--kind", "FREE_SHIPPING", "--starts-at", "2099-02-01", "--ends-at", "2099-01-01"), "after starts_at"),
        (("--kind", "FREE_SHIPPING", "--install", "https://unknown.example/graphql/"), "no install"),
    ],
)
def test_add_reward_command_refuses_bad_input(install, args, message):
    base = ("--install", install.saleor_api_url, "--channel", "c", "--name", "R", "--points-cost", "100")
    with pytest.raises(CommandError, match=message):
        run("add_reward", *base, *args)
    assert not Reward.objects.exists()


def test_list_rewards_command(install):
    other = make_install()
    create_reward(other, name="Someone else's", kind="FREE_SHIPPING", points_cost=1, channel_slug="c")
    create_reward(install, name="Ten off", kind="FIXED_AMOUNT", value="10", points_cost=1000, channel_slug="c")
    free = create_reward(install, name="Free shipping", kind="FREE_SHIPPING", points_cost=300, channel_slug="c")
    create_reward(install, name="Mug", kind="FREE_PRODUCT", variant_id=VARIANT, points_cost=900, channel_slug="jp")
    deactivate_reward(create_reward(install, name="Withdrawn", kind="FREE_SHIPPING", points_cost=100, channel_slug="c"))
    create_reward(
        install,
        name="Soon",
        kind="FREE_SHIPPING",
        points_cost=200,
        channel_slug="c",
        starts_at=timezone.now() + timedelta(days=1),
    )

    offered = run("list_rewards", "--install", install.saleor_api_url).splitlines()
    assert [row.split("\t")[4] for row in offered] == ["Free shipping", "Ten off", "Mug"]
    assert offered[0].split("\t")[:4] == [str(free.pk), f"{_api_id(free.pk)}", "c", "offered"]
    assert offered[1].split("\t")[5] == "1000 pts, FIXED_AMOUNT, value=10"

    everything = run("list_rewards", "--install", install.saleor_api_url, "--channel", "c", "--all").splitlines()
    assert [(row.split("\t")[4], row.split("\t")[3]) for row in everything] == [
        ("Withdrawn", "inactive"),
        ("Soon", "scheduled"),
        ("Free shipping", "offered"),
        ("Ten off", "offered"),
    ]
    assert run("list_rewards", "--install", install.saleor_api_url, "--channel", "nowhere") == "no rewards\n"
    with pytest.raises(CommandError, match="no install"):
        run("list_rewards", "--install", "https://unknown.example/graphql/")


def _api_id(pk: int) -> str:
    return base64.b64encode(f"Reward:{pk}".encode()).decode()


# -- a rule in force at checkout ----------------------------------------------------------------------------


def test_a_rule_set_by_the_merchant_prices_redemptions_at_checkout(store):
    set_redemption_rule(store.install, channel_slug="default-channel", currency="USD", points_per_unit=50)
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")

    result = gql(REDEEM, {"checkoutId": checkout, "key": "k1", "points": 500}, token=store.token())

    payload = result["data"]["redeemPoints"]
    assert payload["errors"] == []
    assert payload["redemption"]["discount"] == {"amount": "10.00", "currency": "USD"}
    voucher = store.shop.voucher_by_code(payload["redemption"]["voucherCode"])
    assert voucher is not None and voucher["channels"] == {"default-channel": Decimal("10.00")}
    assert member_balances(store.member()).held == 500

    by_amount = gql(REDEEM, {"checkoutId": checkout, "key": "k2", "amount": "4.00"}, token=store.token())
    assert by_amount["data"]["redeemPoints"]["redemption"]["points"] == 200


def test_a_rules_limits_apply_at_checkout(store):
    set_redemption_rule(
        store.install,
        channel_slug="default-channel",
        currency="USD",
        points_per_unit=50,
        min_points=100,
        max_points_per_order=1000,
        max_percent_of_subtotal="20",
        step_points=25,
    )
    store.give_points(5000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")  # 20% cap: 10.00, i.e. 500 points

    def code(key: str, points: int) -> str | None:
        result = gql(REDEEM, {"checkoutId": checkout, "key": key, "points": points}, token=store.token())
        errors = result["data"]["redeemPoints"]["errors"]
        return errors[0]["code"] if errors else None

    assert [code(f"k{p}", p) for p in (75, 1025, 130, 525, 500)] == [
        "BELOW_MINIMUM",
        "ABOVE_MAXIMUM",
        "INVALID_STEP",
        "ABOVE_ORDER_CAP",
        None,
    ]
