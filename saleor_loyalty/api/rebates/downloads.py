"""The Rebates page's CSV downloads, under the dashboard's URL space and its authentication:

* ``GET /dashboard/rebates/<period>/statements.csv`` — every shopper's statement of the period: a ``member`` line
  per shopper and program, an ``order`` line per order (accrued, reversed), a ``payout`` line per payout (amount,
  method, state, reference);
* ``GET /dashboard/rebates/<period>/audit.csv`` — per program, the period's totals from the rebate rows and from
  the ledger, with the problems found (none when they agree).

Both need the dashboard's app token with MANAGE_DISCOUNTS, as the staff API (``Authorization: Bearer <token>``,
checked by the same ``RequestContext.require_staff``): the page fetches the file with the header and saves the
blob. Statements stream member by member (``rebates.exports``), so a large period never sits in memory. Amounts
are plain decimals at the currency's precision; a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is prefixed with ``'`` so a spreadsheet never runs it as a formula.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_safe
from graphql import GraphQLError

from saleor_loyalty.installs.models import Install
from saleor_loyalty.rebates import queries
from saleor_loyalty.rebates.exports import Movement, statement_movements

from ..context import RequestContext
from . import PERMISSION
from .resolvers import period_key

STATEMENT_COLUMNS = (
    "period",
    "channel",
    "currency",
    "customer_id",
    "email",
    "line",
    "order_id",
    "order_number",
    "spend",
    "accrued",
    "reversed",
    "rebate",
    "pending",
    "payable",
    "paid",
    "netted",
    "owed",
    "written_off",
    "method",
    "state",
    "reference",
    "at",
)
# The audit's figures: the column, and the name of the figure in ``rebate_audit``.
AUDIT_FIGURES = {
    "accrued": "accruals",
    "reversed": "reversals",
    "rebate": "accrued",
    "pending": "pending",
    "payable": "payable",
    "paid": "paid",
    "netted": "netted",
    "owed": "recovery_raised",
    "written_off": "written_off",
}
AUDIT_COLUMNS = ("period", "channel", "currency", "members", "source", *AUDIT_FIGURES, "problems")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A value as a CSV cell: decimals plain ("14.00"), dates ISO 8601, None empty, text safe from formulas."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


class _Lines:
    """What ``csv.writer`` writes to: each row handed back as it is written, to stream."""

    def write(self, line: str) -> str:
        return line


def _csv(rows: Iterable[Iterable[object]]) -> Iterator[bytes]:
    writer = csv.writer(_Lines())
    for row in rows:
        yield str(writer.writerow([cell(value) for value in row])).encode()


def _download(rows: Iterable[Iterable[object]], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _statement_rows(movements: Iterable[Movement]) -> Iterator[tuple[object, ...]]:
    yield STATEMENT_COLUMNS
    for movement in movements:
        yield tuple(getattr(movement, column) for column in STATEMENT_COLUMNS)


def _authorized(request: HttpRequest, period: str) -> tuple[Install, str] | JsonResponse:
    """The staff user's store and the period's key; or the refusal to answer (401, 403, or 400 for the period)."""
    try:
        staff = RequestContext(request=request).require_staff(PERMISSION)
        return staff.install, period_key(period)
    except GraphQLError as error:
        code = (error.extensions or {}).get("code", "UNAUTHENTICATED")
        status = {"INVALID": 400, "PERMISSION_DENIED": 403}.get(str(code), 401)
        return JsonResponse({"errors": [{"message": error.message, "extensions": {"code": code}}]}, status=status)


@require_safe
def statements_csv(request: HttpRequest, period: str) -> HttpResponseBase:
    authorized = _authorized(request, period)
    if isinstance(authorized, JsonResponse):
        return authorized
    install, key = authorized
    return _download(_statement_rows(statement_movements(install, key)), f"rebates-{key}-statements.csv")


@require_safe
def audit_csv(request: HttpRequest, period: str) -> HttpResponseBase:
    authorized = _authorized(request, period)
    if isinstance(authorized, JsonResponse):
        return authorized
    install, key = authorized
    rows: list[tuple[object, ...]] = [AUDIT_COLUMNS]
    for audit in queries.rebate_audit(install, key):
        head = (audit.period, audit.channel, audit.currency, audit.members)
        rows.append((*head, "periods", *(getattr(audit, f) for f in AUDIT_FIGURES.values()), "; ".join(audit.problems)))
        rows.append((*head, "ledger", *(audit.ledger[f] for f in AUDIT_FIGURES.values()), ""))
    return _download(rows, f"rebates-{key}-audit.csv")
