"""Rebates in the staff API (issue #11): programs created and changed through the domain (checked, all or nothing,
each change in the change log in the merchant's words), totals by period and the audit reconciled with the ledger
to the cent, a customer's statements for the widget, and the CSV downloads under the dashboard's authentication."""

import csv
import io
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone
from graphql import parse, validate

from saleor_loyalty.api.limits import MAX_PAGE_OF
from saleor_loyalty.api.rebates.resolvers import MAX_PERIODS
from saleor_loyalty.api.schema import schema
from saleor_loyalty.api.staff import staff_schema
from saleor_loyalty.change_log.descriptions import describe_changes
from saleor_loyalty.ledger.models import Transfer
from saleor_loyalty.program.models import SettingsChange
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.settings_changes import SettingsInvalid
from saleor_loyalty.rebates.configuration import create_rebate_program, update_rebate_program
from saleor_loyalty.rebates.models import RebatePeriod, RebateProgram
from saleor_loyalty.rebates.periods import MONTHLY, period_of
from saleor_loyalty.rebates.queries import rebate_audit
from saleor_loyalty.rebates.settlement import close_period
from tests.factories import later, line, order, rebate_program
from tests.test_rebates_settlement import NOVEMBER_CLOSED, RecordingPayer
from tests.test_staff_program_settings import dashboard_token, error_codes, staff_call
from tests.test_tiers import setup_tiers

pytestmark = pytest.mark.django_db

PROGRAM = """
fragment Program on RebateProgramSettings {
  id channel currency isActive includeTax includeShipping period timeZone thresholdMode
  bands { threshold { amount currency } rate } tierRates { tier rate mode } lineRates { target saleorId rate }
  frequencyNth frequencyBonusAmount frequencyBonusRate minimumPayout returnWindowDays recoveryPolicy payoutMethod
}
"""
CREATE = (
    """
mutation($channel: String!, $currency: String!, $input: RebateProgramInput!) {
  createRebateProgram(channel: $channel, currency: $currency, input: $input) {
    program { ...Program }
    errors { field code message }
  }
}
"""
    + PROGRAM
)
UPDATE = (
    """
mutation($id: ID!, $input: RebateProgramInput!) {
  updateRebateProgram(id: $id, input: $input) {
    program { ...Program }
    errors { field code message }
  }
}
"""
    + PROGRAM
)
PROGRAMS = "query { rebatePrograms { ...Program } }" + PROGRAM
TOTALS = """
query($period: String!) {
  rebatePeriods
  rebateTotals(period: $period) {
    period channel currency members isReconciled
    accrued { amount currency } reversed { amount } rebate { amount } pending { amount } payable { amount }
    paid { amount } netted { amount } owed { amount } writtenOff { amount }
  }
}
"""
AUDIT = """
query($period: String!) {
  rebateAudit(period: $period) {
    period isReconciled problems ledgerProblems
    programs {
      totals { channel currency } problems
      figures { name rows { amount } ledger { amount } difference { amount } }
    }
  }
}
"""
CUSTOMER = """
query($id: ID!, $period: String) {
  customerRebates(customerId: $id, period: $period) {
    periods period
    progress { period spend { amount } rate accrued { amount } }
    statements {
      period channel rebate { amount } paid { amount }
      orders { orderId accrued { amount } reversed { amount } }
      payouts { amount { amount } method state reference }
    }
  }
}
"""
BANDS = [{"threshold": "500", "rate": "2"}, {"threshold": "1000", "rate": "3"}]


def create(store, input, channel="default-channel", currency="USD", token=None):
    variables = {"channel": channel, "currency": currency, "input": input}
    return staff_call(CREATE, token or dashboard_token(store), variables)["data"]["createRebateProgram"]


def update(store, program_id, input, token=None):
    return staff_call(UPDATE, token or dashboard_token(store), {"id": program_id, "input": input})["data"][
        "updateRebateProgram"
    ]


def described(store):
    changes = list(SettingsChange.objects.filter(install=store.install).order_by("pk"))
    return describe_changes(store.install, changes)


# -- programs ----------------------------------------------------------------------------------------------------


def test_staff_create_a_program_and_the_change_log_says_so_in_the_merchants_words(store):
    setup_tiers(store.install)
    answer = create(
        store,
        {
            "bands": BANDS,
            "thresholdMode": "MARGINAL",
            "tierRates": [{"tier": "Gold", "rate": "4", "mode": "OVERRIDE"}, {"tier": "Silver", "rate": "0.5"}],
            "lineRates": [{"target": "PRODUCT", "saleorId": "UHJvZHVjdDo3", "rate": "5"}],
            "frequencyNth": 3,
            "frequencyBonusAmount": "5.00",
            "returnWindowDays": 30,
            "recoveryPolicy": "WRITE_OFF",
        },
    )
    assert answer["errors"] == []
    program = answer["program"]
    assert (program["channel"], program["currency"], program["isActive"]) == ("default-channel", "USD", True)
    assert program["bands"] == [
        {"threshold": {"amount": "500.00", "currency": "USD"}, "rate": "2"},
        {"threshold": {"amount": "1000.00", "currency": "USD"}, "rate": "3"},
    ]
    assert program["tierRates"] == [
        {"tier": "Gold", "rate": "4", "mode": "OVERRIDE"},
        {"tier": "Silver", "rate": "0.5", "mode": "BONUS"},
    ]
    assert program["lineRates"] == [{"target": "PRODUCT", "saleorId": "UHJvZHVjdDo3", "rate": "5"}]
    assert (program["frequencyNth"], program["frequencyBonusAmount"], program["minimumPayout"]) == (3, "5", "0")
    assert (program["thresholdMode"], program["recoveryPolicy"], program["period"]) == (
        "MARGINAL",
        "WRITE_OFF",
        "MONTHLY",
    )
    stored = RebateProgram.objects.get(install=store.install)
    assert stored.bands == BANDS and stored.tier_rates["Gold"] == {"rate": "4", "mode": "override"}

    [change] = [c for c in described(store) if c.subject.startswith("rebate_program")]
    assert change.subject == "rebate_program:default-channel/USD"
    assert change.title == "Rebates in default-channel (USD)"
    assert change.actor == "merchant@example.com"
    values = {v.field: (v.label, v.before, v.after) for v in change.values}
    assert values["bands"] == ("Rates by spend in the period", None, "2% from 500; 3% from 1000")
    assert values["threshold_mode"] == ("A rate reached applies to", None, "only the spend above its threshold")
    assert values["tier_rates"][2] == "Gold 4% instead of the band rate; Silver +0.5%"
    assert values["line_rates"][2].startswith("5% product ")
    assert values["recovery_policy"][2] == "written off by the store"
    assert values["frequency_bonus_amount"] == ("Bonus per Nth order (amount)", None, "5")
    assert values["return_window_days"][2] == "30"
    assert staff_call(PROGRAMS, dashboard_token(store))["data"]["rebatePrograms"] == [program]


def test_one_program_per_channel_and_currency(store):
    assert create(store, {"bands": BANDS})["errors"] == []
    again = create(store, {"bands": BANDS})
    assert again["program"] is None
    assert [(e["field"], e["code"]) for e in again["errors"]] == [("currency", "INVALID")]
    assert "already has a rebate program" in again["errors"][0]["message"]
    assert create(store, {"bands": BANDS}, currency="EUR")["errors"] == []  # another currency is another program
    assert create(store, {}, channel="", currency="usd!")["errors"] == [
        {"field": "channel", "code": "INVALID", "message": "channel must be a channel's slug (1 to 255 characters)"},
        {"field": "currency", "code": "INVALID", "message": "currency must be an ISO 4217 code, e.g. USD"},
    ]
    assert RebateProgram.objects.filter(install=store.install).count() == 2


LINE_NAMES = "query { rebatePrograms { currency lineRates { target saleorId rate name detail } } }"
TEE, SNEAKERS, SHOES = "UHJvZHVjdDox", "UHJvZHVjdDoy", "Q2F0ZWdvcnk6Mjg="  # Product:1, 2 and Category:28 in the shop


def test_saved_product_and_category_rates_are_named_as_the_store_names_them_now(store):
    """On a real Saleor the Rebates tab showed a rate saved earlier as "product UHJvZHVjdDo3Mg==": the staff API now
    names each line rate's item (one call to the store for the program, cached; null once deleted)."""
    lines = [
        {"target": "PRODUCT", "saleorId": TEE, "rate": "5"},
        {"target": "PRODUCT", "saleorId": SNEAKERS, "rate": "4"},
        {"target": "CATEGORY", "saleorId": SHOES, "rate": "0"},
    ]
    assert create(store, {"bands": BANDS, "lineRates": lines})["errors"] == []
    assert create(store, {"bands": BANDS}, currency="EUR")["errors"] == []  # no line rates: nothing to ask
    store.shop.products.pop(SNEAKERS)  # deleted in Saleor since
    calls = len(store.saleor.calls)
    listed = staff_call(LINE_NAMES, dashboard_token(store))["data"]["rebatePrograms"]
    assert {p["currency"]: p["lineRates"] for p in listed}["USD"] == [
        {"target": "PRODUCT", "saleorId": TEE, "rate": "5", "name": "Monospace Tee", "detail": "T-shirts"},
        {"target": "PRODUCT", "saleorId": SNEAKERS, "rate": "4", "name": None, "detail": ""},
        {"target": "CATEGORY", "saleorId": SHOES, "rate": "0", "name": "Shoes", "detail": ""},
    ]
    assert len(store.saleor.calls) - calls == 1  # the program's items in one call
    staff_call(LINE_NAMES, dashboard_token(store))
    assert len(store.saleor.calls) - calls == 1  # names are cached
    staff_call(PROGRAMS, dashboard_token(store))
    assert len(store.saleor.calls) - calls == 1  # a query without names asks the store nothing


def test_line_rate_names_are_null_when_the_store_cannot_be_asked(store):
    assert create(store, {"lineRates": [{"target": "PRODUCT", "saleorId": TEE, "rate": "5"}]})["errors"] == []
    store.saleor.fail_next("products", status=500)
    listed = staff_call(LINE_NAMES, dashboard_token(store))
    assert "errors" not in listed  # the programs still load; the form falls back to the id
    assert listed["data"]["rebatePrograms"][0]["lineRates"][0]["name"] is None


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"bands": [{"threshold": "1000", "rate": "3"}, {"threshold": "500", "rate": "2"}]}, "bands", "rising"),
        ({"bands": [{"threshold": "500", "rate": "150"}]}, "bands", "between 0 and 100"),
        ({"bands": [{"threshold": "-1", "rate": "2"}]}, "bands", "thresholds between 0"),
        ({"bands": [{"threshold": "500", "rate": "2.00001"}]}, "bands", "at most 4 decimals"),
        ({"tierRates": [{"tier": "Platinum", "rate": "4"}]}, "tierRates", "tiers the store has (not Platinum)"),
        ({"lineRates": [{"target": "CATEGORY", "saleorId": "Q2F0OjE=", "rate": "101"}]}, "lineRates", "100"),
        ({"frequencyNth": 3}, "frequencyBonusAmount", "must be above 0"),
        ({"frequencyBonusRate": "1"}, "frequencyNth", "is required"),
        ({"frequencyNth": 0, "frequencyBonusAmount": "5"}, "frequencyNth", "between 1 and 1,000"),
        ({"minimumPayout": "-5"}, "minimumPayout", "between 0"),
        ({"returnWindowDays": 400}, "returnWindowDays", "between 0 and 365"),
        ({"timeZone": "Mars/Olympus_Mons"}, "timeZone", "IANA time zone"),
    ],
)
def test_invalid_changes_change_nothing_and_name_the_field(store, given, field, message):
    setup_tiers(store.install)
    program = create(store, {"bands": BANDS})["program"]
    before = RebateProgram.objects.filter(install=store.install).values().first()
    logged = SettingsChange.objects.count()
    answer = update(store, program["id"], {"isActive": False, **given})
    assert answer["program"] is None
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(field, "INVALID")], answer
    assert answer["errors"][0]["message"].startswith(field) and message in answer["errors"][0]["message"]
    assert RebateProgram.objects.filter(install=store.install).values().first() == before
    assert SettingsChange.objects.count() == logged
    refused = create(store, given, channel="other")  # the same checks on creation: nothing created
    assert [e["field"] for e in refused["errors"]] == [field]
    assert not RebateProgram.objects.filter(channel_slug="other").exists()


def test_an_update_changes_the_fields_given_and_logs_only_what_changed(store):
    program = create(store, {"bands": BANDS})["program"]
    answer = update(store, program["id"], {"bands": [{"threshold": "0", "rate": "1"}, *BANDS], "isActive": False})
    assert answer["errors"] == [] and answer["program"]["isActive"] is False
    assert answer["program"]["returnWindowDays"] == 14  # left out: unchanged
    change = described(store)[-1]
    assert {v.field: (v.before, v.after) for v in change.values} == {
        "is_active": ("yes", "no"),
        "bands": ("2% from 500; 3% from 1000", "1% from 0; 2% from 500; 3% from 1000"),
    }
    logged = SettingsChange.objects.count()
    same = update(store, program["id"], {"bands": [{"threshold": "0.00", "rate": "1.0"}, *BANDS]})
    assert same["errors"] == []
    assert SettingsChange.objects.count() == logged  # the same values again: nothing to log
    cleared = update(store, program["id"], {"tierRates": None, "frequencyNth": None})
    assert cleared["errors"] == [] and SettingsChange.objects.count() == logged
    assert program["timeZone"] == "UTC"  # the default
    zoned = update(store, program["id"], {"timeZone": "Europe/Warsaw"})
    assert zoned["errors"] == [] and zoned["program"]["timeZone"] == "Europe/Warsaw"
    assert {v.field: (v.before, v.after) for v in described(store)[-1].values} == {
        "time_zone": ("UTC", "Europe/Warsaw")
    }


def test_an_unknown_or_another_stores_program_is_not_found(store):
    other = rebate_program(store.install, channel_slug="x")
    RebateProgram.objects.filter(pk=other.pk).update(install=store.install)
    answer = update(store, "UmViYXRlUHJvZ3JhbTo5OTk5", {"isActive": False})  # RebateProgram:9999
    assert answer["errors"] == [{"field": "id", "code": "NOT_FOUND", "message": "no such rebate program"}]


def test_a_rebate_programs_line_rates_are_named_as_the_store_names_them(store):
    create_rebate_program(
        store.install,
        channel_slug="default-channel",
        currency="USD",
        settings={"line_rates": {"product:UHJvZHVjdDoy": "5", "category:Q2F0ZWdvcnk6OTk5": "2"}},
        actor="merchant@example.com",
    )
    query = "{ rebatePrograms { lineRates { target saleorId name rate } } }"
    rates = staff_call(query, dashboard_token(store))["data"]["rebatePrograms"][0]["lineRates"]
    assert rates == [
        {"target": "PRODUCT", "saleorId": "UHJvZHVjdDoy", "name": "Dash Force sneakers", "rate": "5"},
        {"target": "CATEGORY", "saleorId": "Q2F0ZWdvcnk6OTk5", "name": None, "rate": "2"},  # no such category
    ]


def test_programs_need_manage_discounts(store):
    program = create(store, {"bands": BANDS})["program"]
    users_only = dashboard_token(store, ("MANAGE_USERS",))
    assert error_codes(staff_call(PROGRAMS, users_only)) == ["PERMISSION_DENIED"]
    body = staff_call(UPDATE, users_only, {"id": program["id"], "input": {"isActive": False}})
    assert error_codes(body) == ["PERMISSION_DENIED"]
    assert RebateProgram.objects.get().is_active is True


def test_the_domain_refuses_the_same_way_for_operators(store):
    with pytest.raises(SettingsInvalid) as refused:
        create_rebate_program(store.install, channel_slug="c", currency="USD", settings={"colour": "red"}, actor="op")
    assert refused.value.errors == {"colour": "is not a setting that can be changed"}
    program = create_rebate_program(store.install, channel_slug="c", currency="usd", settings={}, actor="op")
    assert program.currency == "USD" and program.bands == []
    with pytest.raises(SettingsInvalid):
        update_rebate_program(program, {"bands": "2% from 500"}, actor="op")


# -- totals, audit, a customer's statements ---------------------------------------------------------------------


def november(install):
    """Two shoppers' November 2026 in a 2 % / 3 % program: a refund, a payout; and an order this month."""
    rebate_program(install)
    first = order("o-1", lines=(line(unit="700.00"),))
    reconcile_order(install, first)
    reconcile_order(install, order("o-2", lines=(line(unit="500.00"),)))  # 1,200: 36.00
    reconcile_order(install, later(first, total_charged=Decimal(400), total_refunded=Decimal(300)))  # 900: 18.00
    reconcile_order(install, order("o-3", lines=(line(unit="600.00"),), user_id="VXNlcjoy", email="b@example.com"))
    close_period(install, "2026-11", payer=RecordingPayer(), now=NOVEMBER_CLOSED)  # pays 18.00 and 12.00
    reconcile_order(install, replace(order("o-4", lines=(line(unit="100.00"),)), created=timezone.now()))


def this_month():
    return period_of(timezone.now(), MONTHLY).key


def test_totals_by_period_reconcile_with_the_ledger_to_the_cent(store):
    november(store.install)
    body = staff_call(TOTALS, dashboard_token(store), {"period": "2026-11"})
    assert "errors" not in body, body
    assert body["data"]["rebatePeriods"] == [this_month(), "2026-11"]  # this month's: an order, no rebate yet
    [totals] = body["data"]["rebateTotals"]
    assert (totals["channel"], totals["currency"], totals["members"], totals["isReconciled"]) == (
        "default-channel",
        "USD",
        2,
        True,
    )
    amounts = {name: value["amount"] for name, value in totals.items() if isinstance(value, dict)}
    assert amounts == {
        "accrued": "48.00",  # 14 + 22 + 12
        "reversed": "18.00",
        "rebate": "30.00",
        "pending": "0.00",
        "payable": "0.00",
        "paid": "30.00",
        "netted": "0.00",
        "owed": "0.00",
        "writtenOff": "0.00",
    }
    assert totals["accrued"]["currency"] == "USD"


def test_the_audit_lists_no_problem_when_the_ledger_agrees_and_each_difference_when_not(store):
    november(store.install)
    token = dashboard_token(store)
    audit = staff_call(AUDIT, token, {"period": "2026-11"})["data"]["rebateAudit"]
    assert (audit["isReconciled"], audit["problems"], audit["ledgerProblems"]) == (True, [], [])
    [program] = audit["programs"]
    assert all(f["rows"] == f["ledger"] and f["difference"] == {"amount": "0.00"} for f in program["figures"])
    assert [f["name"] for f in program["figures"]] == [
        "accrued",
        "reversed",
        "rebate",
        "pending",
        "payable",
        "paid",
        "netted",
        "owed",
        "written_off",
    ]

    # a period row that says one cent more is pending than the ledger holds (its CHECK still adds up)
    row = RebatePeriod.objects.get(install=store.install, period="2026-11", member__saleor_user_id="VXNlcjox")
    RebatePeriod.objects.filter(pk=row.pk).update(pending=row.pending + 1, accrued=row.accrued + 1)
    audit = staff_call(AUDIT, token, {"period": "2026-11"})["data"]["rebateAudit"]
    assert audit["isReconciled"] is False
    assert "default-channel USD: accrued: rows 3001 ≠ ledger 3000" in audit["problems"]
    assert "default-channel USD: pending: rows 1 ≠ ledger 0" in audit["problems"]
    assert audit["ledgerProblems"]  # the accounts' balances disagree with the rows too
    figures = {f["name"]: f for f in audit["programs"][0]["figures"]}
    assert figures["pending"]["difference"] == {"amount": "0.01"}
    totals = staff_call(TOTALS, token, {"period": "2026-11"})["data"]["rebateTotals"]
    assert totals[0]["isReconciled"] is False


def test_bad_periods_are_refused(store):
    for period in ("2026-13", "2026-1", "x", "2026-Q0"):
        assert error_codes(staff_call(AUDIT, dashboard_token(store), {"period": period})) == ["INVALID"], period


def test_a_customers_rebates_for_the_widget(store):
    november(store.install)
    token = dashboard_token(store, ("MANAGE_USERS",))
    newest = staff_call(CUSTOMER, token, {"id": "VXNlcjox"})["data"]["customerRebates"]
    assert newest["periods"] == [this_month(), "2026-11"] and newest["period"] == this_month()
    assert newest["statements"][0]["rebate"] == {"amount": "0.00"}
    rebates = staff_call(CUSTOMER, token, {"id": "VXNlcjox", "period": "2026-11"})["data"]["customerRebates"]
    [statement] = rebates["statements"]
    assert (statement["rebate"], statement["paid"]) == ({"amount": "18.00"}, {"amount": "18.00"})
    assert [o["orderId"] for o in statement["orders"]] == ["o-1", "o-2"]
    assert statement["payouts"] == [
        {"amount": {"amount": "18.00"}, "method": "STORE_CREDIT", "state": "PAID", "reference": "ref-1"}
    ]
    [progress] = rebates["progress"]  # this month: 100.00 so far
    assert (progress["period"], progress["spend"], progress["rate"]) == (this_month(), {"amount": "100.00"}, "0")
    other = staff_call(CUSTOMER, token, {"id": "VXNlcjoy", "period": "2026-11"})["data"]["customerRebates"]
    assert [o["orderId"] for o in other["statements"][0]["orders"]] == ["o-3"]
    assert staff_call(CUSTOMER, token, {"id": "VXNlcjo5"})["data"]["customerRebates"] is None  # never a member
    assert error_codes(staff_call(CUSTOMER, token, {"id": "not-a-user"})) == ["INVALID"]
    assert error_codes(staff_call(CUSTOMER, dashboard_token(store), {"id": "VXNlcjox"})) == ["PERMISSION_DENIED"]


# -- CSV ---------------------------------------------------------------------------------------------------------


def download(path, token=None, method="get"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return getattr(Client(), method)(path, headers=headers)


def rows_of(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_statements_csv_has_a_line_per_member_order_and_payout_and_adds_up_to_the_audit(store):
    november(store.install)
    response = download("/dashboard/rebates/2026-11/statements.csv", dashboard_token(store))
    assert response["Content-Disposition"] == 'attachment; filename="rebates-2026-11-statements.csv"'
    rows = rows_of(response)
    assert [(r["customer_id"], r["line"], r["order_id"]) for r in rows] == [
        ("VXNlcjox", "member", ""),
        ("VXNlcjox", "order", "o-1"),
        ("VXNlcjox", "order", "o-2"),
        ("VXNlcjox", "payout", ""),
        ("VXNlcjoy", "member", ""),
        ("VXNlcjoy", "order", "o-3"),
        ("VXNlcjoy", "payout", ""),
    ]
    first = rows[0]
    assert (first["spend"], first["accrued"], first["reversed"], first["rebate"], first["paid"]) == (
        "900.00",
        "36.00",
        "18.00",
        "18.00",
        "18.00",
    )
    assert rows[1]["accrued"] == "14.00" and rows[1]["reversed"] == "18.00" and rows[1]["rebate"] == ""
    assert (rows[3]["paid"], rows[3]["method"], rows[3]["state"], rows[3]["reference"]) == (
        "18.00",
        "store_credit",
        "paid",
        "ref-1",
    )
    [audit] = rebate_audit(store.install, "2026-11")
    orders = [r for r in rows if r["line"] == "order"]
    assert sum(Decimal(r["accrued"]) for r in orders) == audit.accruals
    assert sum(Decimal(r["reversed"]) for r in orders) == audit.reversals
    assert sum(Decimal(r["paid"]) for r in rows if r["line"] == "payout") == audit.paid


def test_the_statements_csv_streams_in_batches_and_is_safe_from_formulas(store, monkeypatch):
    from saleor_loyalty.rebates import exports

    monkeypatch.setattr(exports, "BATCH", 1)
    rebate_program(store.install)
    for n, email in enumerate(("=HYPERLINK(evil)@example.com", "+1@example.com", "-2@example.com", "@3@example.com")):
        reconcile_order(store.install, order(f"g-{n}", lines=(line(unit="600.00"),), user_id=None, email=email))
    statement_movements = exports.statement_movements
    monkeypatch.setattr(
        exports, "statement_movements", lambda install, period: statement_movements(install, period, batch=1)
    )
    response = download("/dashboard/rebates/2026-11/statements.csv", dashboard_token(store))
    emails = {r["email"] for r in rows_of(response)}
    assert emails == {"'=hyperlink(evil)@example.com", "'+1@example.com", "'-2@example.com", "'@3@example.com"}


def test_the_audit_csv_has_the_rows_and_the_ledger_side_by_side(store):
    november(store.install)
    rows = rows_of(download("/dashboard/rebates/2026-11/audit.csv", dashboard_token(store)))
    assert [(r["source"], r["accrued"], r["reversed"], r["rebate"], r["paid"], r["problems"]) for r in rows] == [
        ("periods", "48.00", "18.00", "30.00", "30.00", ""),
        ("ledger", "48.00", "18.00", "30.00", "30.00", ""),
    ]
    assert rows[0]["members"] == "2" and rows[0]["currency"] == "USD"


@pytest.mark.parametrize("name", ["statements", "audit"])
def test_the_csv_downloads_refuse_callers_without_the_dashboard_token_and_permission(store, name):
    november(store.install)
    path = f"/dashboard/rebates/2026-11/{name}.csv"
    assert download(path).status_code == 401
    assert download(path, store.token()).json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
    assert download(path, store.token()).status_code == 401
    assert download(path, dashboard_token(store, ("MANAGE_USERS",))).status_code == 403
    with_query = download(f"{path}?access_token={dashboard_token(store)}")
    assert with_query.status_code == 401  # only the header: a token never rides in a URL
    assert download(f"/dashboard/rebates/2026-13/{name}.csv", dashboard_token(store)).status_code == 400
    assert download(path, dashboard_token(store), method="post").status_code == 405
    assert download(path, dashboard_token(store)).status_code == 200


def test_the_storefront_statement_page_size_is_what_the_cost_limit_assumes():
    assert MAX_PAGE_OF[("Query", "myRebateStatements")] == MAX_PERIODS


def _graphql_blocks(doc: str, section: str) -> list[str]:
    text = (Path(__file__).resolve().parent.parent / "docs" / doc).read_text()
    part = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```graphql\n(.*?)```", part, re.S)


@pytest.mark.parametrize(
    ("doc", "schema"), [("staff-api.md", staff_schema), ("storefront.md", schema)], ids=["staff", "storefront"]
)
def test_the_documented_rebate_operations_are_valid_against_the_schema(doc, schema):
    blocks = _graphql_blocks(doc, "Rebates")
    assert blocks
    for block in blocks:
        assert validate(schema.graphql_schema, parse(block)) == [], block


def test_the_dashboards_totals_and_audit_read_the_period_once_and_sum_the_accounts_in_the_database(store, monkeypatch):
    """The rebates page asks for a period's totals and its audit in one request: the period's transfers are read
    once for both, and the accounts' balances are summed by the database, never read one row per account (at a
    million shoppers, three million accounts: 39 s into Python, 0.6 s summed)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from saleor_loyalty.rebates import queries

    november(store.install)
    audits = []
    audit = queries.rebate_audit

    def counted(*args):
        audits.append(args)
        return audit(*args)

    monkeypatch.setattr(queries, "rebate_audit", counted)
    token = dashboard_token(store)
    query = "query($period: String!) { rebateTotals(period: $period) { isReconciled } " + (
        "rebateAudit(period: $period) { isReconciled ledgerProblems } }"
    )
    with CaptureQueriesContext(connection) as page:
        body = staff_call(query, token, {"period": "2026-11"})
    assert body["data"] == {
        "rebateTotals": [{"isReconciled": True}],
        "rebateAudit": {"isReconciled": True, "ledgerProblems": []},
    }
    assert len(audits) == 1
    account_reads = [q["sql"] for q in page.captured_queries if 'FROM "ledger_account"' in q["sql"]]
    assert account_reads and all("SUM(" in sql or '"member_id" IS NULL' in sql for sql in account_reads), account_reads


def test_the_audit_reads_the_transfers_again_only_for_a_program_whose_rows_moved(store, monkeypatch):
    """The period's ledger figures are kept with the rows' figures they were compared with: a view reads the rows
    (cheap) and the store's transfers only when a program's rows moved since, when asked (``refresh``) or after a
    day; ``checkedAt`` says when the transfers were read."""
    from saleor_loyalty.rebates import audit_snapshots, queries
    from saleor_loyalty.rebates.models import RebateAuditSnapshot

    november(store.install)
    reads = []
    ledger_figures = queries._ledger_figures

    def counted(install, program, period):
        reads.append(program.pk)
        return ledger_figures(install, program, period)

    monkeypatch.setattr(queries, "_ledger_figures", counted)
    token = dashboard_token(store)
    query = (
        "query($p: String!, $r: Boolean) { rebateAudit(period: $p, refresh: $r) { checkedAt isReconciled problems } }"
    )

    def view(refresh=False):
        body = staff_call(query, token, {"p": "2026-11", "r": refresh})
        assert "errors" not in body, body
        return body["data"]["rebateAudit"]

    first = view()
    assert len(reads) == 1 and first["isReconciled"]
    assert view() == first and len(reads) == 1  # nothing moved: the kept figures, the same time

    # a late-delivered November order of another shopper moves the period's rows (and its transfers): read again
    reconcile_order(
        store.install, order("o-5", lines=(line(unit="800.00"),), user_id="VXNlcjoz", email="c@example.com")
    )
    moved = view()
    assert len(reads) == 2 and moved["checkedAt"] > first["checkedAt"] and moved["isReconciled"]

    # a transfer written by hand moves no row: the period's figures see it when asked, or once a day old
    accrual = Transfer.objects.filter(install_id=store.install.pk, kind="rebate_accrue").earliest("pk")
    Transfer.objects.create(  # (transfers are immutable: a row written beside the app is the hand edit here)
        install_id=store.install.pk,
        idempotency_key="by-hand",
        kind=accrual.kind,
        phase=accrual.phase,
        debit_account_id=accrual.debit_account_id,
        credit_account_id=accrual.credit_account_id,
        amount=1,
        unit=accrual.unit,
        memo=accrual.memo,
    )
    unseen = view()  # the store-wide balance check, read on every view, sees it; the period's figures are kept
    assert len(reads) == 2 and unseen["problems"] == ["USD rebates_accrued: ledger -4601 ≠ rows -4600"], unseen
    refreshed = view(refresh=True)
    assert len(reads) == 3 and "default-channel USD: accruals: rows 6400 ≠ ledger 6401" in refreshed["problems"]
    snapshot = RebateAuditSnapshot.objects.get(install=store.install, period="2026-11")
    assert len(snapshot.programs) == 1 and snapshot.programs[0]["ledger"]["accruals"] > 0
    RebateAuditSnapshot.objects.filter(pk=snapshot.pk).update(checked_at=F("checked_at") - audit_snapshots.MAX_AGE)
    stale = view()
    assert len(reads) == 4 and "default-channel USD: accruals: rows 6400 ≠ ledger 6401" in stale["problems"]
