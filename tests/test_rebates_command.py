"""``settle_rebates``, the operators' command: one period's close or the periodic run, on several connections, with
a progress line; refuses what it cannot do with a clear error and changes nothing."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from saleor_loyalty.ledger.models import Transfer
from saleor_loyalty.rebates import payers
from saleor_loyalty.rebates.models import PayoutState, RebatePayout, RebatePeriod
from tests.test_rebates_bulk_settlement import (
    NOVEMBER,
    NOVEMBER_CLOSED,
    RecordingPayer,
    actual_settlement,
    assert_reconciles,
    build,
    expected_settlement,
)

NOW = NOVEMBER_CLOSED.isoformat()


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("settle_rebates", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_closing_one_period_on_two_connections_settles_it_as_the_rules_say_and_shows_progress():
    store = build(40)
    expected = expected_settlement(store, NOVEMBER_CLOSED)
    last = Transfer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    started = timezone.now()

    out, err = _run("--install", store.install.saleor_api_url, "--period", NOVEMBER, "--now", NOW, "--workers", "2")
    out_again, _ = _run("--install", store.install.saleor_api_url, "--period", NOVEMBER, "--now", NOW, "--no-pay")

    assert actual_settlement(store, last)[:2] == expected[:2]
    changed = RebatePeriod.objects.filter(install=store.install, period=NOVEMBER, updated_at__gte=started).count()
    assert changed and re.findall(r"settled (\d+) periods", out) == [str(changed)]
    assert "(100%)" in err.splitlines()[-1]  # the progress line, at every tenth into a non-terminal
    assert "settled 0 periods" in out_again
    assert set(RebatePayout.objects.filter(period__period=NOVEMBER).values_list("state", flat=True)) <= {
        PayoutState.CREATED,  # no payer registered for these methods here: they wait
        PayoutState.PAID,
    }
    assert_reconciles(store.install)


@pytest.mark.django_db(transaction=True)
def test_the_periodic_run_settles_what_is_due_and_pays_through_the_payers(monkeypatch):
    store = build(30)
    expected = expected_settlement(store, NOVEMBER_CLOSED)
    last = Transfer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    monkeypatch.setattr(payers, "_payers", {})
    payer = RecordingPayer()
    payers.register_payer("store_credit", payer)
    payers.register_payer("stripe", payer)

    out, _ = _run("--now", NOW, "--workers", "2")

    assert actual_settlement(store, last)[:2] == expected[:2]
    assert f"payouts: {len(expected[2])} paid, 0 waiting" in out
    assert sorted(r.key for r in payer.requests) == sorted(expected[2])
    assert_reconciles(store.install)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", NOVEMBER], "--period needs --install"),
        (["--install", "https://nowhere.example/graphql/", "--period", NOVEMBER], "no store is installed from"),
        (["--install", "https://nowhere.example/graphql/"], "--install goes with --period"),
        (["--now", "2027-01-01T00:00:00"], "needs a UTC offset"),
        (["--workers", "0"], "--workers must be between 1 and 64"),
    ],
)
def test_what_it_cannot_do_is_refused_with_a_clear_error(args, message):
    before = Transfer.objects.count()
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert Transfer.objects.count() == before
