"""The wheel ships webhooks/, migrations/ and graphql/ under saleor_loyalty, never as top-level modules."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> list[str]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("saleor_loyalty-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@pytest.mark.slow
def test_wheel_has_no_generic_top_level_modules(wheel_names):
    top_level = {name.split("/")[0] for name in wheel_names}
    assert top_level == {"saleor_loyalty", next(n for n in top_level if n.endswith(".dist-info"))}


@pytest.mark.slow
def test_wheel_maps_the_folders_under_the_package(wheel_names):
    assert "saleor_loyalty/webhooks/views.py" in wheel_names
    assert "saleor_loyalty/migrations/ledger/0001_initial.py" in wheel_names
    assert "saleor_loyalty/graphql_documents/subscriptions/order_events.graphql" in wheel_names
    assert "saleor_loyalty/graphql_documents/operations/app_id.graphql" in wheel_names
    assert "saleor_loyalty/saleor/static/logo.png" in wheel_names
    assert "saleor_loyalty/notifications/templates/loyalty/emails/earned.html" in wheel_names
    assert "saleor_loyalty/dashboard/static/dashboard/index.html" in wheel_names
    assert "saleor_loyalty/dashboard/build.sha256" in wheel_names
    assert not [n for n in wheel_names if n.startswith(("tests/", "bench/", "webhooks/", "migrations/"))]


@pytest.mark.slow
def test_the_built_dashboard_pages_are_in_the_wheel(wheel_names):
    """A `pip install`ed app serves the dashboard pages without Node: every built asset ships."""
    built = ROOT / "saleor_loyalty" / "dashboard" / "static" / "dashboard"
    assets = {f"saleor_loyalty/dashboard/static/dashboard/{p.relative_to(built).as_posix()}" for p in built.rglob("*")}
    assert {a for a in assets if "." in a.rsplit("/", 1)[-1]} <= set(wheel_names)


@pytest.mark.slow
def test_every_graphql_document_is_in_the_wheel(wheel_names):
    documents = {p.relative_to(ROOT / "graphql").as_posix() for p in (ROOT / "graphql").rglob("*.graphql")}
    shipped = {n.removeprefix("saleor_loyalty/graphql_documents/") for n in wheel_names if n.endswith(".graphql")}
    assert documents <= shipped
