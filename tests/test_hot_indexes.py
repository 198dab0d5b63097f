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
