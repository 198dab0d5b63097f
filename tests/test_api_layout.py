"""The API is laid out by domain, like Saleor's: resolvers and mutations call domain queries and actions, never the
ORM, so a rule or a query lives in one place that the commands, tasks and both APIs share."""

import ast
from pathlib import Path

API = Path(__file__).resolve().parent.parent / "saleor_loyalty" / "api"


def _api_modules() -> list[Path]:
    return [path for path in API.rglob("*.py") if "management" not in path.parts]


def test_no_api_module_queries_the_orm():
    offenders = []
    for path in _api_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in {"objects", "_default_manager", "raw"}:
                offenders.append(f"{path.relative_to(API)}:{node.lineno}")
    assert offenders == [], "move these queries into the domain package: " + ", ".join(offenders)


def test_every_domain_package_of_the_api_has_its_types_apart_from_its_resolvers_and_mutations():
    packages = [path for path in API.iterdir() if path.is_dir() and (path / "__init__.py").exists()]
    domains = [p for p in packages if p.name not in {"core", "management", "__pycache__"}]
    assert {p.name for p in domains} >= {"points", "redemption", "tiers", "referrals", "program", "customers"}
    for package in domains:
        assert (package / "types.py").exists(), package.name
        mutations = package / "mutations"
        if mutations.exists():  # one module per mutation, not a grab bag
            assert all(len(module.read_text().splitlines()) < 250 for module in mutations.glob("*.py")), package.name
    assert not (API / "types.py").exists() and not (API / "mutations").exists()  # the old shared modules are gone
