"""The rows every order writes (its award, its shopper's member and accounts, its fingerprints) carry no index a
wider one already covers (issue #10: each index is one more write per insert and non-HOT update), and lookups by
those columns still use an index."""

import re

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

if connection.vendor != "postgresql":  # pragma: no cover - CI runs PostgreSQL (conftest)
    pytest.skip("index definitions are PostgreSQL's", allow_module_level=True)

COVERED = [  # (table, foreign key column, the index that starts with it)
    ("ledger_account", "install_id", "account_unique_code"),
    ("members_member", "install_id", "member_install_email"),
    ("program_order_award", "install_id", "order_award_unique"),
    ("program_order_award", "member_id", "order_award_member_paid"),
    ("referrals_fingerprint", "install_id", "referral_fingerprint_lookup"),
    ("referrals_fingerprint", "member_id", "referral_fingerprint_unique"),
    ("ledger_lot_movement", "transfer_id", "lot_movement_unique"),
    ("rebates_order", "install_id", "rebate_order_unique"),
    ("rebates_period", "install_id", "rebate_period_by_period"),
    ("rebates_period", "program_id", "rebate_period_unique"),
    ("rebates_period", "member_id", "rebate_period_member"),
]


@pytest.mark.parametrize(("table", "column", "covering"), COVERED)
def test_a_foreign_key_has_no_index_of_its_own_where_a_wider_one_starts_with_it(table, column, covering):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        indexes = dict(cursor.fetchall())
        assert not [name for name, d in indexes.items() if re.search(rf"\({column}\)$", d)], indexes
        assert re.search(rf"\({column}[,)]", indexes[covering]), indexes[covering]
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT 1 FROM {table} WHERE {column} = 1")
        plan = " ".join(row[0] for row in cursor.fetchall())
        assert "Index" in plan and "Seq Scan" not in plan, plan


@pytest.mark.parametrize(("table", "percent"), [("members_member", 85), ("ledger_account", 80)])
def test_the_rows_every_order_updates_have_room_on_their_pages(table, percent):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [table])
        assert f"fillfactor={percent}" in (cursor.fetchone()[0] or [])


def test_a_returning_shoppers_order_updates_their_member_in_place(install):
    """An order within the hour of the shopper's last one leaves last activity (indexed) as it is: the member's row
    is updated without writing an index entry (HOT)."""
    from saleor_loyalty.members.models import Member
    from tests.test_tiers import pay

    def member_updates() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'members_member'"
            )
            row = cursor.fetchone()
        return (row[0], row[1]) if row else (0, 0)

    pay(install, "T3JkZXI6MQ==", "20")  # enrolled by it, active from now
    first_activity = Member.objects.get().last_activity_at
    before = member_updates()
    pay(install, "T3JkZXI6Mg==", "30")
    updated, hot = (after - prior for after, prior in zip(member_updates(), before, strict=True))
    member = Member.objects.get()
    assert member.lifetime_points == 50 and member.last_activity_at == first_activity
    assert updated == 1 and hot == 1
