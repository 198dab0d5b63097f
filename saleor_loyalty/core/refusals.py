"""Refusals that name the input field they are about, so an API can show each next to its field."""

from collections.abc import Iterator
from contextlib import contextmanager


class FieldRefusal(ValueError):
    """Input a domain cannot run on; ``field`` names the argument it is about, when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@contextmanager
def about(field: str) -> Iterator[None]:
    """Name ``field`` on any ``FieldRefusal`` raised inside that does not name one itself (for validators shared
    by several fields)."""
    try:
        yield
    except FieldRefusal as exc:
        if exc.field is None:
            exc.field = field
        raise
