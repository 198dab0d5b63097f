"""A per-request cap on calls to Saleor: one storefront GraphQL request may not make the app call Saleor without end.

The storefront API opens a budget around each request (``saleor_call_budget``); ``SaleorClient.execute_document``
charges every call to it (``charge_saleor_call``). Outside a budget (webhooks, Celery tasks, commands) calls are not
counted. Over the budget a call is refused before it is sent, as a ``SaleorCallBudgetExceeded`` — a
``SaleorError``, so a redemption in progress rolls back exactly as when Saleor refuses a step.
"""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import SaleorError


class SaleorCallBudgetExceeded(SaleorError):
    """This request already made as many calls to Saleor as it may."""


@dataclass
class _Budget:
    limit: int
    used: int = 0


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("saleor_call_budget", default=None)


@contextmanager
def saleor_call_budget(limit: int) -> Iterator[None]:
    """Allow at most ``limit`` calls to Saleor in this block (this thread or task)."""
    token = _budget.set(_Budget(limit=limit))
    try:
        yield
    finally:
        _budget.reset(token)


def saleor_calls_made() -> int:
    """Calls charged to the current budget (0 outside one)."""
    budget = _budget.get()
    return budget.used if budget is not None else 0


def charge_saleor_call() -> None:
    """Count one call to Saleor against the current budget, or refuse it when the budget is spent."""
    budget = _budget.get()
    if budget is None:
        return
    if budget.used >= budget.limit:
        raise SaleorCallBudgetExceeded(
            f"this request already made {budget.used} calls to the store (at most {budget.limit} per request); "
            "send fewer fields that need the store in one request"
        )
    budget.used += 1
