"""What goes wrong talking to a Saleor store (its own module so the client and its budget can share it)."""

from typing import Any


class SaleorError(Exception):
    """Saleor could not be reached, or answered with errors."""

    def __init__(
        self, message: str, *, status: int | None = None, errors: list[Any] | None = None, forbidden: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []
        self.forbidden = forbidden  # the store's URL or address is one this deployment never calls
