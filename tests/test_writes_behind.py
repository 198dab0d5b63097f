"""``core.db.writes_behind``: writes nobody waits for go with the next statement, in one round trip, and the
database still sees every statement in the order the code ran them."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from saleor_loyalty.core import db
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.models import OrderAward
from tests.factories import make_install

pytestmark = pytest.mark.django_db

if connection.vendor != "postgresql":  # pragma: no cover - CI runs PostgreSQL (conftest)
    pytest.skip("the write-behind queue exists on PostgreSQL only", allow_module_level=True)


@contextmanager
def round_trips() -> Iterator[list[str]]:
    """Each time psycopg waits for the server (a statement outside a pipeline, or a pipeline's sync), the first
    statement sent since the last wait: how many round trips a block cost."""
    sent: list[str] = []
    waits: list[str] = []
    raw = connection.connection
    original_execute = psycopg.Cursor.execute
    original_pipeline = type(raw).pipeline

    def execute(self: psycopg.Cursor[Any], query: Any, params: Any = None, **kwargs: Any) -> Any:
        sent.append(str(query))
        result = original_execute(self, query, params, **kwargs)
        if raw._pipeline is None:  # not in a pipeline: the answer was waited for
            waits.append(sent[0])
            sent.clear()
        return result

    @contextmanager
    def pipeline(self: psycopg.Connection[Any]) -> Iterator[Any]:
        with original_pipeline(self) as p:
            yield p
        waits.append(sent[0] if sent else "(empty)")
        sent.clear()

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    type(raw).pipeline = pipeline
    try:
        yield waits
    finally:
        psycopg.Cursor.execute = original_execute  # type: ignore[method-assign]
        type(raw).pipeline = original_pipeline


def a_member(email: str = "ada@example.com") -> Member:
    return Member.objects.create(install=make_install(), email=email)


def lifetime(member: Member) -> int:
    row = db.fetchone("SELECT lifetime_points FROM members_member WHERE id = %s", [member.pk])
    assert row is not None
    return int(row[0])


ADD = "UPDATE members_member SET lifetime_points = lifetime_points + %s WHERE id = %s"


def test_queued_writes_go_with_the_next_read_in_one_round_trip_and_the_read_sees_them():
    member = a_member()
    connection.ensure_connection()
    with transaction.atomic(), db.writes_behind():
        with round_trips() as waits:
            db.execute_later(ADD, [5, member.pk])
            db.execute_later(ADD, [7, member.pk])
            assert waits == []  # nothing sent yet
            assert lifetime(member) == 12  # the read after the writes, as the code ran them
        assert len(waits) == 1  # two writes and the read: one round trip
    member.refresh_from_db()
    assert member.lifetime_points == 12


def test_an_orm_statement_and_a_savepoint_go_after_the_writes_queued_before_them():
    member = a_member()
    with transaction.atomic(), db.writes_behind():
        db.execute_later(ADD, [3, member.pk])
        assert Member.objects.get(pk=member.pk).lifetime_points == 3  # the ORM's read
        db.execute_later(ADD, [4, member.pk])
        with pytest.raises(IntegrityError), transaction.atomic():  # a savepoint
            db.execute_later(ADD, [100, member.pk])  # inside the savepoint: rolled back with it
            Member.objects.create(install=member.install, email=member.email)  # unique: fails
        assert Member.objects.get(pk=member.pk).lifetime_points == 7


def test_what_is_left_is_sent_when_the_block_ends_and_a_rollback_drops_it():
    member = a_member()
    with transaction.atomic(), db.writes_behind():
        db.execute_later(ADD, [2, member.pk])
    member.refresh_from_db()
    assert member.lifetime_points == 2

    with pytest.raises(RuntimeError), transaction.atomic(), db.writes_behind():
        db.execute_later(ADD, [50, member.pk])
        raise RuntimeError("the event failed")
    member.refresh_from_db()
    assert member.lifetime_points == 2
    assert getattr(connection, db._QUEUE) is None  # the queue went with the block


def test_a_queued_write_that_fails_fails_the_next_statement_and_the_transaction():
    member = a_member()
    with pytest.raises(DatabaseError), transaction.atomic(), db.writes_behind():
        db.execute_later("UPDATE members_member SET lifetime_points = 1 / 0 WHERE id = %s", [member.pk])
        db.execute_later(ADD, [9, member.pk])
        lifetime(member)
    member.refresh_from_db()
    assert member.lifetime_points == 0
    assert Member.objects.filter(pk=member.pk).exists()  # the connection is usable after it


def test_update_fields_later_writes_the_fields_as_update_fields_would():
    member = a_member()
    member.lifetime_points, member.carry_points = 40, 2
    with transaction.atomic(), db.writes_behind():
        db.update_fields_later(member, ["lifetime_points", "carry_points"])
    member.refresh_from_db()
    assert (member.lifetime_points, member.carry_points) == (40, 2)


def test_watched_statements_are_not_queued_so_each_is_counted_where_it_runs():
    member = a_member()
    seen: list[str] = []

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch), transaction.atomic(), db.writes_behind():
        db.execute_later(ADD, [1, member.pk])
        assert seen[-1] == ADD  # run at once, through Django's cursor (after the block's savepoint)
    member.refresh_from_db()
    assert member.lifetime_points == 1


def test_outside_a_block_a_later_write_runs_at_once():
    member = a_member()
    db.execute_later(ADD, [6, member.pk])
    assert lifetime(member) == 6


def test_reads_fetched_together_take_one_round_trip_after_the_queued_writes_and_see_them():
    member = a_member()
    connection.ensure_connection()
    select = "SELECT lifetime_points FROM members_member WHERE id = %s"
    with transaction.atomic(), db.writes_behind():
        with round_trips() as waits:
            db.execute_later(ADD, [4, member.pk])
            first, second = db.Query(select, [member.pk]), db.Query("SELECT %s::int + 1", [41])
            db.fetch_together(first, second)
        assert (first.rows, second.rows) == ([(4,)], [(42,)])
        assert len(waits) == 1  # the write and both reads


def test_insert_or_lock_inserts_once_then_returns_the_row_it_locked():
    install = make_install()
    key = ("install", "order_id")  # order_award_unique
    with transaction.atomic():
        first = db.insert_or_lock(OrderAward(install=install, order_id="T3JkZXI6MQ==", order_number="1"), key)
        db.fetch_together(first)
        inserted, was_new = db.inserted_or_locked(OrderAward, first)
        again = db.insert_or_lock(OrderAward(install=install, order_id="T3JkZXI6MQ==", order_number="2"), key)
        db.fetch_together(again)
        locked, second_new = db.inserted_or_locked(OrderAward, again)
    assert was_new and not second_new
    assert locked.pk == inserted.pk and locked.order_number == "1"  # the row as it was: nothing overwritten
