"""Ledger errors. Each one means nothing was written (the caller's transaction rolls back)."""


class LedgerError(Exception):
    code = "LEDGER_ERROR"


class InvalidTransfer(LedgerError):
    code = "INVALID_TRANSFER"


class InsufficientBalance(LedgerError):
    code = "INSUFFICIENT_BALANCE"


class IdempotencyConflict(LedgerError):
    """The idempotency key was used before for a different transfer."""

    code = "IDEMPOTENCY_CONFLICT"


class PendingTransferResolved(LedgerError):
    """The pending transfer was already posted or voided."""

    code = "PENDING_ALREADY_RESOLVED"
