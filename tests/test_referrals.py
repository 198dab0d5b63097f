"""Referrals: codes, attaching referees (API, order and customer metadata), rewards, fraud holds and review."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from saleor_loyalty.ledger.models import Lot
from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.members.actions import guest_member, member_for_user
from saleor_loyalty.notifications.models import Notification, NotificationKind
from saleor_loyalty.program.enrolment import enrol_customer
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.snapshots import AddressSnapshot, CustomerSnapshot
from saleor_loyalty.program.tasks import unlock_due_lots
from saleor_loyalty.referrals import actions, fraud
from saleor_loyalty.referrals.models import Referral, ReferralProgram, ReferralStatus
from saleor_loyalty.referrals.tasks import settle_due_referrals
from tests.factories import later, line, order
from tests.storefront import gql

pytestmark = pytest.mark.django_db

ALICE = ("VXNlcjox", "alice@example.com")  # the referrer
BOB = ("VXNlcjoy", "bob@example.com")  # the friend
CAROL = ("VXNlcjoz", "carol@example.com")
HOME = AddressSnapshot(
    street="12 Baker Street", postal_code="NW1 6XE", city="London", country="GB", phone="+44 7700 900123"
)

MY = """{ myReferrals {
  code link metadataKey isActive refereeRewardPoints referrerRewardPoints
  invited pending converted held rejected pointsEarned pointsPending
  referrals { status friend points qualifiedAt rewardsUnlockAt }
  referredBy { status friend points }
} }"""
APPLY = """mutation Apply($code: String!) {
  applyReferralCode(code: $code) { referral { status friend points } errors { field code message } }
}"""


@pytest.fixture
def clock(monkeypatch):
    """Move ``timezone.now`` forward (the return window, the cap period)."""
    real_now = timezone.now

    class Clock:
        offset = timedelta(0)

        def advance(self, **delta: float) -> None:
            self.offset += timedelta(**delta)

    moved = Clock()
    monkeypatch.setattr(timezone, "now", lambda: real_now() + moved.offset)
    return moved


def my_referrals(store, who=ALICE):
    result = gql(MY, token=store.token(*who))
    assert "errors" not in result, result
    return result["data"]["myReferrals"]


def apply(store, code, who=BOB):
    result = gql(APPLY, {"code": code}, token=store.token(*who))
    assert "errors" not in result, result
    return result["data"]["applyReferralCode"]


def code_of(store, who=ALICE):
    return my_referrals(store, who)["code"]


def member(store, who):
    return member_for_user(store.install, who[0], who[1])


def paid_order(order_id, who=BOB, unit="50.00", **changes):
    return replace(order(order_id, user_id=who[0], email=who[1], lines=(line(unit=unit),)), **changes)


def refunded(snapshot):
    return later(snapshot, total_charged=snapshot.total_charged * 0, total_refunded=snapshot.total_gross)


def points(store, who):
    balances = member_balances(member(store, who))
    return balances.available, balances.pending


def referral():
    return Referral.objects.get()


# -- codes and links ------------------------------------------------------------------------------------------


def test_each_member_gets_one_unguessable_code_and_a_link(store):
    ReferralProgram.objects.create(install=store.install, storefront_url="https://shop.example/join")
    first = my_referrals(store)
    assert first["code"] == my_referrals(store)["code"]
    assert len(first["code"]) == 8 and set(first["code"]) <= set(actions.CODE_ALPHABET)
    assert first["link"] == f"https://shop.example/join?ref={first['code']}"
    assert first["metadataKey"] == "loyalty_referral_code"
    assert (first["refereeRewardPoints"], first["referrerRewardPoints"], first["isActive"]) == (100, 200, True)
    assert code_of(store, BOB) != first["code"]


def test_link_without_a_storefront_url_is_just_the_query(store):
    code = code_of(store)
    assert my_referrals(store)["link"] == f"?ref={code}"


# -- the happy path ---------------------------------------------------------------------------------------------


def test_referral_by_api_pays_both_sides_pending_then_available(store, clock):
    code = code_of(store)
    applied = apply(store, code.lower())  # codes are case-insensitive
    assert applied["errors"] == []
    assert applied["referral"] == {"status": "PENDING", "friend": "a***@example.com", "points": 100}
    assert referral().status == ReferralStatus.PENDING and referral().source == "api"

    first = paid_order("order-1")
    reconcile_order(store.install, first)
    assert referral().status == ReferralStatus.QUALIFIED
    assert points(store, BOB) == (0, 50 + 100)  # the order's points and the welcome reward, both pending
    assert points(store, ALICE) == (0, 200)
    unlocks = referral().rewards_unlock_at
    order_lot = Lot.objects.get(member=member(store, BOB), source="order")
    assert abs(unlocks - order_lot.unlocks_at) < timedelta(seconds=5)
    assert Lot.objects.get(member=member(store, ALICE)).unlocks_at == unlocks

    clock.advance(days=13)
    assert unlock_due_lots() == 0
    clock.advance(days=1, minutes=1)
    assert unlock_due_lots() == 3
    assert points(store, ALICE) == (200, 0)
    assert points(store, BOB) == (150, 0)
    assert settle_due_referrals() == 1
    assert referral().status == ReferralStatus.REWARDED
    assert integrity_problems(store.install.pk) == []


def test_referee_bonus_is_paid_once_however_often_the_order_is_reconciled(store):
    apply(store, code_of(store))
    first = paid_order("order-1")
    for version in range(4):
        reconcile_order(store.install, later(first, seconds=version))
    reconcile_order(store.install, later(paid_order("order-2"), seconds=10))  # a second order pays nothing more
    assert Lot.objects.filter(source="referral", member=member(store, BOB)).count() == 1
    assert Lot.objects.filter(source="referral", member=member(store, ALICE)).count() == 1
    assert points(store, BOB) == (0, 100 + 50 + 50)
    assert points(store, ALICE) == (0, 200)
    assert referral().order_id == "order-1"


def test_referral_by_order_metadata_for_a_storefront_that_cannot_call_first(store):
    code = code_of(store)
    created = paid_order(
        "order-1", charge_status="NONE", total_charged=Decimal(0), metadata={"loyalty_referral_code": code}
    )
    reconcile_order(store.install, created, is_creation=True)
    assert referral().status == ReferralStatus.PENDING and referral().source == "order_metadata"
    reconcile_order(store.install, later(created, charge_status="FULL", total_charged=created.total_gross))
    assert referral().status == ReferralStatus.QUALIFIED
    assert points(store, ALICE) == (0, 200)
    assert points(store, BOB) == (0, 150)


def test_guest_checkout_with_a_code_refers_the_guest(store):
    code = code_of(store)
    guest_order = replace(
        order("order-1", user_id=None, email="dave@example.com"), metadata={"loyalty_referral_code": f" {code} "}
    )
    reconcile_order(store.install, guest_order)
    guest = guest_member(store.install, "dave@example.com")
    assert referral().referee == guest and referral().status == ReferralStatus.QUALIFIED
    assert member_balances(guest).pending == 100 + 100


def test_sign_up_with_a_code_in_customer_metadata(store):
    code = code_of(store)
    enrol_customer(
        store.install,
        CustomerSnapshot(
            user_id=BOB[0], email=BOB[1], is_confirmed=True, is_active=True, metadata={"loyalty_referral_code": code}
        ),
    )
    assert referral().source == "customer_metadata" and referral().referee == member(store, BOB)


def test_metadata_code_of_a_shopper_who_already_ordered_is_ignored(store):
    code = code_of(store)
    reconcile_order(store.install, paid_order("order-1"))
    reconcile_order(store.install, paid_order("order-2", metadata={"loyalty_referral_code": code}))
    assert not Referral.objects.exists()


def test_unknown_metadata_code_is_ignored(store):
    reconcile_order(store.install, paid_order("order-1", metadata={"loyalty_referral_code": "NOPE2345"}))
    assert not Referral.objects.exists()


def test_apply_referral_code_refusals(store):
    code = code_of(store)
    assert apply(store, "ZZZZZZZZ")["errors"][0]["code"] == "NOT_FOUND"
    assert apply(store, code, who=ALICE)["errors"][0]["message"] == "this is your own referral code"
    reconcile_order(store.install, paid_order("order-c", who=CAROL))
    assert apply(store, code, who=CAROL)["errors"][0]["message"] == "referral codes are for new customers"
    assert apply(store, code)["errors"] == []
    assert apply(store, code)["errors"] == []  # the same code again: fine, nothing new
    other = code_of(store, CAROL)
    assert apply(store, other)["errors"][0]["message"] == "you were already referred by someone else"
    assert Referral.objects.count() == 1


def test_applying_codes_is_rate_limited(store):
    for _ in range(10):
        apply(store, "ZZZZZZZZ")
    assert apply(store, "ZZZZZZZZ")["errors"][0]["code"] == "RATE_LIMITED"


def test_inactive_program_takes_no_referees(store):
    code = code_of(store)
    ReferralProgram.objects.filter(install=store.install).update(is_active=False)
    assert apply(store, code)["errors"][0]["code"] == "INVALID"


# -- refunds and cancellations -----------------------------------------------------------------------------------


def test_refund_before_the_window_passes_voids_both_rewards(store, clock):
    apply(store, code_of(store))
    first = paid_order("order-1")
    reconcile_order(store.install, first)
    clock.advance(days=5)
    reconcile_order(store.install, refunded(first))
    assert referral().status == ReferralStatus.REJECTED and referral().reason == "order_returned"
    assert points(store, ALICE) == (0, 0)
    assert points(store, BOB) == (0, 0)
    reconcile_order(store.install, later(refunded(first), seconds=5))  # again: nothing more is taken
    clock.advance(days=30)
    unlock_due_lots()
    assert points(store, ALICE) == (0, 0)
    assert member_balances(member(store, ALICE)).owed == 0
    assert integrity_problems(store.install.pk) == []


def test_cancelled_first_order_voids_the_referral(store):
    apply(store, code_of(store))
    first = paid_order("order-1")
    reconcile_order(store.install, first)
    reconcile_order(store.install, later(first, status="CANCELED"))
    assert referral().status == ReferralStatus.REJECTED
    assert points(store, ALICE) == (0, 0)


def test_partial_refund_keeps_the_referral(store):
    apply(store, code_of(store))
    first = paid_order("order-1")
    reconcile_order(store.install, first)
    reconcile_order(
        store.install, later(first, total_charged=first.total_gross / 2, total_refunded=first.total_gross / 2)
    )
    assert referral().status == ReferralStatus.QUALIFIED
    assert points(store, ALICE) == (0, 200)


def test_refund_after_the_window_keeps_the_rewards(store, clock):
    apply(store, code_of(store))
    first = paid_order("order-1")
    reconcile_order(store.install, first)
    clock.advance(days=15)
    unlock_due_lots()
    reconcile_order(store.install, refunded(first))
    assert referral().status == ReferralStatus.REWARDED
    assert points(store, ALICE) == (200, 0)
    assert points(store, BOB) == (100, 0)  # the welcome reward stays; the order's own points went back


# -- fraud checks --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alice_email", "bob_email"),
    [
        ("alice@example.com", "ALICE@Example.com"),
        ("alice@example.com", "alice+friend@example.com"),
        ("alice.smith@gmail.com", "alicesmith@googlemail.com"),
        ("Alice.Smith+x@gmail.com", "a.l.i.c.e.s.m.i.t.h+y@gmail.com"),
    ],
)
def test_self_referral_by_email_variants_is_held(store, alice_email, bob_email):
    alice, bob = (ALICE[0], alice_email), (BOB[0], bob_email)
    apply(store, code_of(store, alice), who=bob)
    reconcile_order(store.install, paid_order("order-1", who=bob))
    assert (referral().status, referral().reason) == (ReferralStatus.HELD, "same_email")
    assert points(store, alice) == (0, 0)
    assert points(store, bob) == (0, 50)  # the order earns; no referral reward


def test_referee_email_on_the_order_counts_too(store):
    apply(store, code_of(store))
    reconcile_order(store.install, paid_order("order-1", user_email="alice+2@example.com"))
    assert referral().reason == "same_email"


def test_same_shipping_address_is_held(store):
    code = code_of(store)
    reconcile_order(store.install, paid_order("alice-1", who=ALICE, shipping_address=replace(HOME, phone="")))
    apply(store, code)
    elsewhere = AddressSnapshot(street="12, baker st.", postal_code="nw16xe", city="LONDON", country="gb", phone="")
    reconcile_order(store.install, paid_order("order-1", shipping_address=elsewhere))
    assert (referral().status, referral().reason) == (ReferralStatus.HELD, "same_address")
    assert points(store, ALICE) == (0, 50)  # only Alice's own order's points


def test_same_phone_is_held(store):
    code = code_of(store)
    reconcile_order(store.install, paid_order("alice-1", who=ALICE, shipping_address=HOME))
    apply(store, code)
    other_home = AddressSnapshot(
        street="1 Elm Road", postal_code="OX1 1AA", city="Oxford", country="GB", phone="0044-7700-900-123"
    )
    reconcile_order(store.install, paid_order("order-1", shipping_address=other_home))
    assert (referral().status, referral().reason) == (ReferralStatus.HELD, "same_phone")


def test_different_address_and_phone_pass(store):
    code = code_of(store)
    reconcile_order(store.install, paid_order("alice-1", who=ALICE, shipping_address=HOME))
    apply(store, code)
    other_home = AddressSnapshot(
        street="1 Elm Road", postal_code="OX1 1AA", city="Oxford", country="GB", phone="+44 7700 900456"
    )
    reconcile_order(store.install, paid_order("order-1", shipping_address=other_home))
    assert referral().status == ReferralStatus.QUALIFIED


def test_own_code_in_order_metadata_is_held_as_same_user(store):
    code = code_of(store)
    reconcile_order(store.install, paid_order("order-1", who=ALICE, metadata={"loyalty_referral_code": code}))
    assert (referral().status, referral().reason) == (ReferralStatus.HELD, "same_user,same_email")
    with pytest.raises(actions.ReferralError, match="cannot refer themselves"):
        actions.approve_referral(referral())


def test_cap_per_referrer_per_period_holds_the_rest(store, clock):
    ReferralProgram.objects.create(install=store.install, max_rewarded_per_period=1, cap_period_days=30)
    code = code_of(store)
    apply(store, code, who=BOB)
    apply(store, code, who=CAROL)
    reconcile_order(store.install, paid_order("order-b", who=BOB))
    reconcile_order(store.install, paid_order("order-c", who=CAROL))
    statuses = dict(Referral.objects.values_list("referee__email", "status"))
    assert statuses == {BOB[1]: ReferralStatus.QUALIFIED, CAROL[1]: ReferralStatus.HELD}
    assert Referral.objects.get(referee__email=CAROL[1]).reason == "cap_reached"
    assert points(store, ALICE) == (0, 200)

    clock.advance(days=31)  # a new period: the next one is paid
    dave = ("VXNlcjo0", "dave@example.com")
    apply(store, code, who=dave)
    reconcile_order(store.install, paid_order("order-d", who=dave))
    assert Referral.objects.get(referee__email=dave[1]).status == ReferralStatus.QUALIFIED


def test_lifetime_cap(store):
    ReferralProgram.objects.create(install=store.install, max_rewarded_total=1, max_rewarded_per_period=None)
    code = code_of(store)
    for who, order_id in ((BOB, "order-b"), (CAROL, "order-c")):
        apply(store, code, who=who)
        reconcile_order(store.install, paid_order(order_id, who=who))
    assert sorted(Referral.objects.values_list("reason", flat=True)) == ["", "cap_reached"]


def test_email_normalisation():
    assert fraud.canonical_email(" J.Doe+News@GoogleMail.com ") == "jdoe@gmail.com"
    assert fraud.canonical_email("j.doe+x@example.com") == "j.doe@example.com"
    assert fraud.canonical_email("") == ""
    assert fraud.canonical_phone("+1 (415) 555-2671") == fraud.canonical_phone("0014155552671")
    assert fraud.canonical_phone("123") is None


# -- review ---------------------------------------------------------------------------------------------------


def held_by_address(store):
    code = code_of(store)
    reconcile_order(store.install, paid_order("alice-1", who=ALICE, shipping_address=replace(HOME, phone="")))
    apply(store, code)
    first = paid_order("order-1", shipping_address=HOME)
    reconcile_order(store.install, first)
    assert referral().status == ReferralStatus.HELD
    return first


def test_approving_a_held_referral_pays_it_pending_through_the_window(store):
    held_by_address(store)
    approved = actions.approve_referral(referral(), reviewer="ops@shop", note="flatmates")
    assert approved.status == ReferralStatus.QUALIFIED
    assert (approved.reviewed_by, approved.review_note) == ("ops@shop", "flatmates")
    assert points(store, ALICE)[1] == 50 + 200
    assert points(store, BOB) == (0, 50 + 100)
    with pytest.raises(actions.ReferralError):
        actions.approve_referral(referral())  # only once


def test_approving_after_the_window_pays_available_points(store, clock):
    held_by_address(store)
    clock.advance(days=20)
    assert actions.approve_referral(referral()).status == ReferralStatus.REWARDED
    assert points(store, ALICE)[0] == 200  # (Alice's own order is still pending until the task runs)


def test_a_held_referral_whose_order_is_refunded_cannot_be_approved(store):
    first = held_by_address(store)
    reconcile_order(store.install, refunded(first))
    assert referral().status == ReferralStatus.REJECTED
    with pytest.raises(actions.ReferralError):
        actions.approve_referral(referral())


def test_rejecting_pays_nothing_and_voids_pending_rewards(store):
    held_by_address(store)
    rejected = actions.reject_referral(referral(), reviewer="ops", note="same household")
    assert rejected.status == ReferralStatus.REJECTED and rejected.reason == "same_address"
    assert points(store, BOB) == (0, 50)
    assert points(store, ALICE) == (0, 50)


def test_rejecting_a_qualified_referral_voids_its_pending_rewards(store):
    apply(store, code_of(store))
    reconcile_order(store.install, paid_order("order-1"))
    assert referral().status == ReferralStatus.QUALIFIED
    actions.reject_referral(referral())
    assert referral().status == ReferralStatus.REJECTED
    assert points(store, ALICE) == (0, 0)
    assert points(store, BOB) == (0, 50)
    assert integrity_problems(store.install.pk) == []


def test_review_referral_command(store):
    held_by_address(store)
    out = StringIO()
    call_command("review_referral", "--install", store.install.saleor_api_url, stdout=out)
    listed = out.getvalue()
    assert f"{referral().pk}\theld\tsame_address" in listed
    out = StringIO()
    call_command(
        "review_referral", "--install", store.install.saleor_api_url, "--approve", str(referral().pk), stdout=out
    )
    assert out.getvalue().strip() == f"referral {referral().pk} is now qualified"
    with pytest.raises(CommandError, match="only a held referral"):
        call_command("review_referral", "--install", store.install.saleor_api_url, "--approve", str(referral().pk))


# -- stats ---------------------------------------------------------------------------------------------------


def test_stats_count_every_state(store, clock):
    ReferralProgram.objects.create(install=store.install, max_rewarded_per_period=2)
    code = code_of(store)
    friends = [(f"VXNlcjo{n}0", f"friend{n}@example.com") for n in range(5)]
    for who in friends:
        apply(store, code, who=who)
    reconcile_order(store.install, paid_order("o-0", who=friends[0]))  # qualified, later rewarded
    first = paid_order("o-1", who=friends[1])
    reconcile_order(store.install, first)
    reconcile_order(store.install, refunded(first))  # voided: rejected
    reconcile_order(store.install, paid_order("o-2", who=friends[2]))  # qualified (pending)
    reconcile_order(store.install, paid_order("o-3", who=friends[3]))  # cap of 2 reached: held
    # friends[4] never orders: pending

    stats = my_referrals(store)
    counts = {key: stats[key] for key in ("invited", "pending", "converted", "held", "rejected")}
    assert counts == {"invited": 5, "pending": 3, "converted": 0, "held": 1, "rejected": 1}
    assert (stats["pointsEarned"], stats["pointsPending"]) == (0, 400)
    assert [entry["status"] for entry in stats["referrals"]] == [
        "PENDING",
        "HELD",
        "QUALIFIED",
        "REJECTED",
        "QUALIFIED",
    ]
    assert stats["referrals"][0]["friend"] == "f***@example.com"

    clock.advance(days=15)  # the window passed: converted even before the beat task records it
    stats = my_referrals(store)
    assert (stats["converted"], stats["pending"], stats["pointsEarned"], stats["pointsPending"]) == (2, 1, 400, 0)

    friend_view = my_referrals(store, friends[0])
    assert friend_view["referredBy"] == {"status": "REWARDED", "friend": "a***@example.com", "points": 100}
    assert friend_view["invited"] == 0


def test_my_referrals_needs_a_signed_in_shopper(store):
    result = gql(MY)
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_the_referrer_is_emailed_once_when_the_friends_first_order_earns_the_reward(
    store, django_capture_on_commit_callbacks
):
    apply(store, code_of(store))
    first = paid_order("order-1")
    with django_capture_on_commit_callbacks(execute=True):
        reconcile_order(store.install, first)
    with django_capture_on_commit_callbacks(execute=True):
        reconcile_order(store.install, later(first, seconds=5))  # delivered again: no second email
    rewards = [m for m in mail.outbox if m.to == [ALICE[1]]]
    assert len(rewards) == 1, [m.subject for m in mail.outbox]
    assert "you earned 200 points" in rewards[0].body
    assert "once your friend's return period is over" in rewards[0].body
    notification = Notification.objects.get(member=member(store, ALICE))
    assert notification.kind == NotificationKind.REFERRAL_REWARD
    assert notification.key == f"referral:{referral().pk}:referrer"
