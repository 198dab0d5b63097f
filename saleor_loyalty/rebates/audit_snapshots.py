"""A period's audit without reading the store's transfers on every view.

The audit (``queries.rebate_audit``) compares each program's period figures from its rows (a cheap sum) with the
same figures from the ledger's transfers, which reads the store's transfers: seconds at a million shoppers (10.8 s
for a settled month), too much for every view of the dashboard's totals. Every rebate movement posts its transfers
and updates its period's counters in one transaction, so while a program's figures from the rows stand as they were
when its transfers were last read, so do the ledger's: the snapshot keeps, per program, the rows' figures and the
ledger's as read then, and a view reads the rows again (always) and the transfers only for a program whose rows
moved. The snapshot is read again in full when older than ``MAX_AGE`` (a ledger edited by hand moves no row), or
when the merchant asks (``refresh``).
"""

from datetime import datetime, timedelta

from django.utils import timezone

from saleor_loyalty.core.money import to_minor_units
from saleor_loyalty.installs.models import Install

from . import queries
from .models import RebateAuditSnapshot, RebateProgram
from .queries import AuditTotals

MAX_AGE = timedelta(hours=24)


def audited(install: Install, period: str, *, refresh: bool = False) -> tuple[tuple[AuditTotals, ...], datetime]:
    """The period's audit, and when the oldest of its ledger figures were read from the transfers."""
    now = timezone.now()
    snapshot = None if refresh else RebateAuditSnapshot.objects.filter(install=install, period=period).first()
    kept = {}
    if snapshot is not None and now - snapshot.checked_at <= MAX_AGE:
        kept = {entry["program"]: entry for entry in snapshot.programs}
    read_at: dict[int, datetime] = {}

    def known(program: RebateProgram, rows: dict[str, int]) -> dict[str, int] | None:
        entry = kept.get(program.pk)
        if entry is None or entry["rows"] != rows:
            read_at[program.pk] = now
            return None
        read_at[program.pk] = datetime.fromisoformat(entry["read_at"])
        return dict(entry["ledger"])

    audits = queries.rebate_audit(install, period, known)
    checked_at = min(read_at.values(), default=now)
    if snapshot is None or any(read == now for read in read_at.values()) or len(kept) != len(read_at):
        RebateAuditSnapshot.objects.update_or_create(
            install=install,
            period=period,
            defaults={"checked_at": checked_at, "programs": [_entry(audit, read_at) for audit in audits]},
        )
    return audits, checked_at


def _entry(audit: AuditTotals, read_at: dict[int, datetime]) -> dict[str, object]:
    """A program's figures in minor units, from the rows and from the ledger, and when the ledger's were read."""
    figures = audit.ledger.keys()
    return {
        "program": audit.program_id,
        "rows": {name: to_minor_units(getattr(audit, name), audit.currency) for name in figures},
        "ledger": {name: to_minor_units(value, audit.currency) for name, value in audit.ledger.items()},
        "read_at": read_at[audit.program_id].isoformat(),
    }
