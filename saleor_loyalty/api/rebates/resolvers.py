"""Reads of rebates: the shopper's (``myRebates``, ``myRebateStatements``), the public terms (``rebateProgram``), and
the staff's (programs, totals by period, the audit, a customer's rebates). The queries live in the domain."""

from datetime import datetime
from typing import Any

from graphql import GraphQLError

from saleor_loyalty.members.queries import MemberNotFound, find_member
from saleor_loyalty.program.custom_events import is_user_id
from saleor_loyalty.rebates import queries
from saleor_loyalty.rebates.audit_snapshots import audited
from saleor_loyalty.rebates.models import RebateProgram
from saleor_loyalty.rebates.periods import period_by_key
from saleor_loyalty.rebates.queries import AuditTotals, RebateProgress, Statement

from ..context import RequestContext
from . import CUSTOMER_PERMISSION, PERMISSION

MAX_PERIODS = 12  # statements one request may ask for
MAX_PERIOD_KEYS = 120


def _invalid(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "INVALID"})


def period_key(value: str) -> str:
    """A period's key as written by the app ("2026-11", "2026-Q4"), or an INVALID error."""
    try:
        if period_by_key(value).key == value:
            return value
    except ValueError:
        pass
    raise _invalid(f'not a rebate period: {value[:20]!r} (write "2026-11" or "2026-Q4")')


def _currency(currency: str | None) -> str | None:
    if currency is None:
        return None
    if len(currency) != 3 or not currency.isalpha():
        raise _invalid("currency must be an ISO 4217 code")
    return currency.upper()


def _channel(channel: str) -> str:
    if not 0 < len(channel) <= 255:
        raise _invalid("channel must be a channel's slug")
    return channel


# -- the storefront ----------------------------------------------------------------------------------------------


def resolve_my_rebates(root: Any, info: Any, channel: str, currency: str | None = None) -> RebateProgress | None:
    context: RequestContext = info.context
    member = context.member()
    program = queries.active_rebate_program(member.install, _channel(channel), _currency(currency))
    if program is None:
        return None
    return queries.rebate_progress(member, program.channel_slug, program.currency)


def resolve_my_rebate_statements(
    root: Any, info: Any, periods: list[str] | None = None, first: int | None = 3
) -> list[Statement]:
    context: RequestContext = info.context
    member = context.member()
    if periods is not None:
        if len(periods) > MAX_PERIODS:
            raise _invalid(f"ask for at most {MAX_PERIODS} periods at a time")
        keys = list(dict.fromkeys(period_key(p) for p in periods))
    else:
        size = 3 if first is None else first
        if not 1 <= size <= MAX_PERIODS:
            raise _invalid(f"first must be between 1 and {MAX_PERIODS}")
        keys = queries.member_period_keys(member, limit=size)
    return [statement for key in keys for statement in queries.rebate_statement(member, key)]


def resolve_rebate_program(root: Any, info: Any, channel: str, currency: str | None = None) -> RebateProgram | None:
    context: RequestContext = info.context
    return queries.active_rebate_program(context.public_install(), _channel(channel), _currency(currency))


# -- the staff API -----------------------------------------------------------------------------------------------


def resolve_rebate_programs(root: Any, info: Any) -> list[RebateProgram]:
    staff = info.context.require_staff(PERMISSION)
    programs = queries.rebate_programs(staff.install)
    info.context.cache["rebate_programs"] = programs  # their line rates' names are asked of the store at once
    return programs


def resolve_rebate_periods(root: Any, info: Any, first: int | None = 24) -> list[str]:
    staff = info.context.require_staff(PERMISSION)
    size = 24 if first is None else first
    if not 1 <= size <= MAX_PERIOD_KEYS:
        raise _invalid(f"first must be between 1 and {MAX_PERIOD_KEYS}")
    return queries.rebate_period_keys(staff.install, limit=size)


def _audit(info: Any, period: str, refresh: bool) -> tuple[tuple[AuditTotals, ...], datetime]:
    """The period's audit, once per request (the dashboard asks for the totals and the audit together), from its
    snapshot while that holds (``rebates.audit_snapshots``: the audit reads the store's transfers, seconds at a
    million shoppers); taken anew with ``refresh``."""
    staff = info.context.require_staff(PERMISSION)
    key = period_key(period)
    memo = info.context.cache.setdefault("rebate_audits", {})
    if key not in memo or (refresh and not memo[key][2]):
        memo[key] = (*audited(staff.install, key, refresh=refresh), refresh)
    audits, checked_at, _ = memo[key]
    return audits, checked_at


def resolve_rebate_totals(root: Any, info: Any, period: str, refresh: bool = False) -> list[AuditTotals]:
    return list(_audit(info, period, refresh)[0])


def resolve_rebate_audit(root: Any, info: Any, period: str, refresh: bool = False) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    audits, checked_at = _audit(info, period, refresh)
    currencies = sorted({audit.currency for audit in audits})
    ledger_problems = [
        f"{currency} {problem}"
        for currency in currencies
        for problem in queries.ledger_problems(staff.install, currency)
    ]
    problems = [f"{a.channel} {a.currency}: {p}" for a in audits for p in a.problems] + ledger_problems
    return {
        "period": period,
        "checked_at": checked_at,
        "programs": list(audits),
        "ledger_problems": ledger_problems,
        "problems": problems,
        "is_reconciled": not problems,
    }


def resolve_customer_rebates(
    root: Any, info: Any, customer_id: str, period: str | None = None
) -> dict[str, Any] | None:
    staff = info.context.require_staff(CUSTOMER_PERMISSION)
    if not is_user_id(customer_id):
        raise _invalid("customerId is not a Saleor customer id")
    key = None if period is None else period_key(period)
    try:
        member = find_member(staff.install, user_id=customer_id)
    except MemberNotFound:
        return None
    periods = queries.member_period_keys(member)
    shown = key or (periods[0] if periods else None)
    progress = [
        found
        for program in queries.rebate_programs(staff.install)
        if program.is_active
        and (found := queries.rebate_progress(member, program.channel_slug, program.currency)) is not None
    ]
    return {
        "progress": progress,
        "periods": periods,
        "period": shown,
        "statements": list(queries.rebate_statement(member, shown)) if shown else [],
    }
