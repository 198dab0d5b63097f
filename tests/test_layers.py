"""The packages' layers, bottom to top, each importing only those below it (STYLE.md, issue #10):

    core (with the Celery app and the job table) → installs (the tenant) → saleor (the Saleor client), payments
    (Stripe) → members → ledger → program → redemption, referrals, tiers, notifications, rebates, memberships
    → change_log → api, webhooks, dashboard

Checked from the source (module-level imports and imports inside functions alike). What still breaks the order
is listed below as debt, edge by edge: a new upward import fails this test, and so does paying off a debt
without striking it from the list, so the list only shrinks.
"""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = [
    {"__init__", "core", "celery_app", "schedule", "settings", "wsgi", "cli"},
    {"installs"},
    {"saleor", "payments"},
    {"members"},
    {"ledger"},
    {"program"},
    {"redemption", "referrals", "tiers", "notifications", "rebates", "memberships"},
    {"change_log"},
    {"api", "webhooks", "dashboard", "urls"},
]
LAYER = {package: level for level, packages in enumerate(LAYERS) for package in packages}

# Upward imports still to remove: none left. A feature supplies what the program needs from it through
# ``program.extensions`` (tiers, redemptions) or listens to its signals.
DEBT: set[tuple[str, str]] = set()
# Imports inside functions that dodge a cycle, still to remove: none left (apps.py's ready() hooks are Django's idiom:
# allowed).
INNER_DEBT: set[tuple[str, str]] = set()


def _sources() -> list[tuple[str, Path]]:
    files = [p for p in (ROOT / "saleor_loyalty").rglob("*.py")] + [p for p in (ROOT / "webhooks").rglob("*.py")]
    return [(_package(p), p) for p in files if "migrations" not in p.parts and "management" not in p.parts]


def _package(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    if parts[0] == "webhooks":
        return "webhooks"
    return parts[1] if len(parts) > 2 else Path(parts[1]).stem


def _imported_packages(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module == "saleor_loyalty":
            return [alias.name for alias in node.names]
        if node.module.startswith("saleor_loyalty."):
            return [node.module.split(".")[1]]
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1] for a in node.names if a.name.startswith("saleor_loyalty.")]
    return []


def _edges() -> dict[tuple[str, str], set[str]]:
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for package, path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            for imported in _imported_packages(node):
                if imported != package:
                    edges[(package, imported)].add(str(path.relative_to(ROOT)))
    return edges


def test_every_package_has_a_layer():
    assert {package for package, _ in _sources()} - set(LAYER) == set()


def test_packages_import_only_layers_below_them_except_the_listed_debt():
    upward = {edge: files for edge, files in _edges().items() if LAYER[edge[1]] > LAYER[edge[0]]}
    new = {edge: sorted(files) for edge, files in upward.items() if edge not in DEBT}
    assert new == {}, "an import goes up the layers (see this module's docstring)"
    assert DEBT - set(upward) == set(), "a debt is paid: strike it from DEBT"


def test_no_import_inside_a_function_dodges_a_cycle_except_the_listed_debt():
    found = set()
    for _, path in _sources():
        if path.name == "apps.py":
            continue
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (
                    node.level or (node.module or "").startswith("saleor_loyalty")
                ):
                    found.add((str(path.relative_to(ROOT)), "." * node.level + (node.module or "")))
    assert found - INNER_DEBT == set(), "import at the top of the module; a cycle means the layers are wrong"
    assert INNER_DEBT - found == set(), "a debt is paid: strike it from INNER_DEBT"


def test_the_job_table_and_the_celery_app_import_no_package_of_the_app():
    for name in ("schedule.py", "celery_app.py"):
        tree = ast.parse((ROOT / "saleor_loyalty" / name).read_text())
        assert [p for node in ast.walk(tree) for p in _imported_packages(node)] == [], name


def test_members_and_the_ledger_need_no_saleor_client():
    """They name their store by its ``Install`` row (``saleor_loyalty.installs``) and never talk to Saleor, so
    nothing in them, management commands included, imports ``saleor_loyalty.saleor``."""
    found = set()
    for package in ("ledger", "members"):
        for path in (ROOT / "saleor_loyalty" / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                relative = (node.module or "") if isinstance(node, ast.ImportFrom) and node.level >= 2 else ""
                if "saleor" in _imported_packages(node) or relative.split(".")[0] == "saleor":
                    found.add(str(path.relative_to(ROOT)))
    assert found == set()
