"""Access to the ``.graphql`` documents: webhook subscriptions and the operations the app sends to Saleor.

They live in ``graphql/`` at the top of a source checkout and in ``saleor_loyalty/graphql_documents/`` inside
a wheel; both layouts are looked up here, so no other module needs to know where documents live.
"""

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def documents_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "graphql_documents", _PACKAGE_DIR.parent / "graphql"):
        if (candidate / "subscriptions").is_dir():
            return candidate
    raise FileNotFoundError("graphql documents not found next to the saleor_loyalty package")


@cache
def load(relative_path: str) -> str:
    """Return a document's text, e.g. ``load("operations/app_id.graphql")``."""
    return (documents_dir() / relative_path).read_text()


def subscription(name: str) -> str:
    return load(f"subscriptions/{name}.graphql")


def operation(name: str) -> str:
    return load(f"operations/{name}.graphql")
