"""The referrals panel's review queue on the staff API: held referrals with their fraud flags, approve or reject
with a note, and the history of decisions (MANAGE_USERS)."""

import pytest

from saleor_loyalty.api.core.ids import global_id
from saleor_loyalty.program.models import SettingsChange
from saleor_loyalty.referrals.models import Referral, ReferralStatus
from tests.test_referrals import ALICE, BOB, held_by_address, points
from tests.test_staff_program_settings import error_codes, staff_call

pytestmark = pytest.mark.django_db

QUEUE = """query { referralsToReview { id status flags referrerEmail refereeEmail orderId referrerPoints
  refereePoints reviewedBy } }"""
DECISIONS = "query { referralDecisions { id status reviewedBy reviewNote reviewedAt } }"
APPROVE = """mutation($id: ID!, $note: String) { approveReferral(id: $id, note: $note) {
  referral { status reviewedBy reviewNote } errors { field code message } } }"""
REJECT = """mutation($id: ID!) { rejectReferral(id: $id, note: "same household") {
  referral { status } errors { field code message } } }"""


def token(store, *permissions: str) -> str:
    return str(store.saleor.app_token_for_dashboard(list(permissions or ("MANAGE_USERS",)), email="ops@shop.example"))


def test_the_review_queue_lists_held_referrals_with_why(store):
    held_by_address(store)

    [held] = staff_call(QUEUE, token(store))["data"]["referralsToReview"]

    assert held["status"] == "HELD" and held["flags"] == ["same_address"]
    assert (held["referrerEmail"], held["refereeEmail"]) == (ALICE[1], BOB[1])
    assert held["orderId"] == "order-1" and (held["referrerPoints"], held["refereePoints"]) == (200, 100)
    assert held["reviewedBy"] is None


def test_approving_pays_both_sides_and_is_recorded_with_the_reviewer_and_note(store):
    held_by_address(store)
    referral_id = global_id("Referral", Referral.objects.get().pk)

    payload = staff_call(APPROVE, token(store), {"id": referral_id, "note": "flatmates"})["data"]["approveReferral"]

    assert payload == {
        "referral": {"status": "QUALIFIED", "reviewedBy": "ops@shop.example", "reviewNote": "flatmates"},
        "errors": [],
    }
    assert points(store, BOB) == (0, 150)  # the order's 50 and the referee's 100, pending
    assert staff_call(QUEUE, token(store))["data"]["referralsToReview"] == []
    [decision] = staff_call(DECISIONS, token(store))["data"]["referralDecisions"]
    assert decision["status"] == "QUALIFIED" and decision["reviewedAt"]
    again = staff_call(APPROVE, token(store), {"id": referral_id})["data"]["approveReferral"]
    assert [e["code"] for e in again["errors"]] == ["INVALID"]  # only a held referral can be approved


def test_rejecting_pays_nothing(store):
    held_by_address(store)
    referral_id = global_id("Referral", Referral.objects.get().pk)
    payload = staff_call(REJECT, token(store), {"id": referral_id})["data"]["rejectReferral"]
    assert payload == {"referral": {"status": "REJECTED"}, "errors": []}
    assert Referral.objects.get().status == ReferralStatus.REJECTED
    assert points(store, BOB) == (0, 50)


def test_review_needs_manage_users_and_a_referral_of_this_store(store):
    held_by_address(store)
    referral_id = global_id("Referral", Referral.objects.get().pk)
    assert error_codes(staff_call(QUEUE, token(store, "MANAGE_ORDERS"))) == ["PERMISSION_DENIED"]
    assert error_codes(staff_call(APPROVE, token(store, "MANAGE_DISCOUNTS"), {"id": referral_id})) == [
        "PERMISSION_DENIED"
    ]
    unknown = staff_call(APPROVE, token(store), {"id": global_id("Referral", 999_999)})["data"]["approveReferral"]
    assert [e["code"] for e in unknown["errors"]] == ["NOT_FOUND"]
    assert error_codes(staff_call(APPROVE, token(store), {"id": "not-an-id"})) == ["INVALID"]
    assert Referral.objects.get().status == ReferralStatus.HELD


PROGRAM = """query { referralProgram { isActive storefrontUrl refereeRewardPoints referrerRewardPoints
  maxRewardedPerPeriod capPeriodDays maxRewardedTotal } }"""
UPDATE_PROGRAM = """mutation($input: ReferralProgramInput!) { updateReferralProgram(input: $input) {
  program { storefrontUrl referrerRewardPoints maxRewardedPerPeriod } errors { field code } } }"""
FUNNEL = (
    "query { referralFunnel { codesShared signUps firstOrders rewarded } topReferrers { email referrals rewarded } }"
)


def test_staff_read_and_change_the_referral_terms_each_change_logged(store):
    terms = staff_call(PROGRAM, token(store, "MANAGE_DISCOUNTS"))["data"]["referralProgram"]
    assert (terms["refereeRewardPoints"], terms["referrerRewardPoints"], terms["maxRewardedPerPeriod"]) == (
        100,
        200,
        10,
    )
    changes = {"storefrontUrl": "https://shop.example/join", "referrerRewardPoints": 300, "maxRewardedPerPeriod": None}
    payload = staff_call(UPDATE_PROGRAM, token(store, "MANAGE_DISCOUNTS"), {"input": changes})
    assert payload["data"]["updateReferralProgram"] == {
        "program": {
            "storefrontUrl": "https://shop.example/join",
            "referrerRewardPoints": 300,
            "maxRewardedPerPeriod": None,
        },
        "errors": [],
    }
    change = SettingsChange.objects.get(subject="referral_program")
    assert change.before == {"storefront_url": "", "referrer_reward_points": 200, "max_rewarded_per_period": 10}


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"storefrontUrl": "javascript:alert(1)"}, "storefrontUrl"), ({"capPeriodDays": 0}, "capPeriodDays"),
     ({"refereeRewardPoints": -5}, "refereeRewardPoints")],
)  # fmt: skip
def test_invalid_referral_terms_name_their_field_and_change_nothing(store, changes, field):
    payload = staff_call(UPDATE_PROGRAM, token(store, "MANAGE_DISCOUNTS"), {"input": changes})
    assert [e["field"] for e in payload["data"]["updateReferralProgram"]["errors"]] == [field]
    assert not SettingsChange.objects.exists()


def test_the_funnel_and_top_referrers(store):
    held_by_address(store)
    answer = staff_call(FUNNEL, token(store))["data"]
    assert answer["referralFunnel"] == {"codesShared": 1, "signUps": 1, "firstOrders": 1, "rewarded": 0}
    assert answer["topReferrers"] == [{"email": ALICE[1], "referrals": 1, "rewarded": 0}]
    assert error_codes(staff_call(FUNNEL, token(store, "MANAGE_DISCOUNTS"))) == ["PERMISSION_DENIED"]
