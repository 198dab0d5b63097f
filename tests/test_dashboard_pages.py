"""The dashboard pages as Django serves them, the manifest's extensions, and the committed build (no Node needed)."""

import re

import pytest
from django.test import Client
from django.urls import set_script_prefix

from saleor_loyalty.dashboard import stamp, views
from saleor_loyalty.saleor.manifest import PERMISSIONS, build_manifest
from tests.saleor_harness import SALEOR_VERSIONS, validate_manifest

INDEX = (views.DIST / "index.html").read_text()
ASSETS = re.findall(r'(?:src|href)="/app/assets/([^"]+)"', INDEX)


# -- the committed build ---------------------------------------------------------------------------------------


def test_the_build_matches_the_sources_and_lockfile():
    """Fails when dashboard_extension/ changed without `make dashboard` (which rebuilds and rewrites the stamp)."""
    assert stamp.recorded_digest() == stamp.source_digest(), (
        "saleor_loyalty/dashboard/static/ is stale: run `make dashboard` and commit the result"
    )


def test_the_stamp_covers_the_lockfile_and_sources_but_not_node_modules():
    names = {path.relative_to(stamp.SOURCES).as_posix() for path in stamp.source_files()}
    assert {"package.json", "package-lock.json", "index.html", "vite.config.ts", "src/main.tsx"} <= names
    assert not [name for name in names if name.startswith("node_modules/") or name.endswith(".md")]


def test_the_stamp_changes_with_any_source(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.ts").write_text("export const a = 1;\n")
    before = stamp.source_digest(tmp_path)
    (tmp_path / "src" / "a.ts").write_text("export const a = 2;\n")
    assert stamp.source_digest(tmp_path) != before


def test_the_index_loads_one_script_and_one_stylesheet_that_exist():
    assert len(ASSETS) == 2
    assert {name.rsplit(".", 1)[1] for name in ASSETS} == {"js", "css"}
    for name in ASSETS:
        assert (views.DIST / "assets" / name).is_file()


def test_the_bundle_stays_small():
    assets = {path.name: path.stat().st_size for path in (views.DIST / "assets").iterdir()}
    # What every page (the app page, each widget, the popup) loads: the index's script and stylesheet, and the font.
    upfront = sum(size for name, size in assets.items() if name in ASSETS or name.endswith(".woff2"))
    assert upfront < 1_200_000, f"every page loads {upfront} bytes"
    # Loaded on demand: the tier-movement chart (recharts), only when the Tiers tab shows it.
    lazy = {name: size for name, size in assets.items() if name not in ASSETS and not name.endswith(".woff2")}
    assert {name.split("-")[0] for name in lazy} <= {"MovementsChart"}, lazy
    assert all(size < 500_000 for size in lazy.values()), lazy
    assert len(list((views.DIST / "assets").glob("*.woff2"))) <= 1  # one font, not macaw-ui's fifty


# -- serving ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/app",
        "/app/",
        "/app//",
        "/app/?domain=shop.example&saleorApiUrl=https%3A%2F%2Fshop.example%2Fgraphql%2F&id=QXBwOjE%3D&theme=dark",
        "/app?domain=shop.example&id=QXBwOjE%3D",
        "/app/widget/customer?customerId=VXNlcjox",
        "/app/widget/customer/",
        "/app//widget/order?orderId=T3JkZXI6MQ%3D%3D",
        "/app/widget/order",
        "/app/popup/customer?customerId=VXNlcjox",
        "/app/popup/customer/",
        "/app//popup/customer?customerId=VXNlcjox",
        # a real Dashboard 3.23.27 opened at /dashboard/extensions/app/QXBwOjE= (the id not percent-encoded)
        "/app/extensions/app/QXBwOjE=?domain=localhost%3A8000&id=QXBwOjE%3D&theme=light",
    ],
)
def test_every_page_path_answers_the_single_page_app_without_a_redirect(path):
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.content.decode() == INDEX
    assert response["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_page_loads_are_idempotent_and_touch_no_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        first = Client().get("/app?theme=light")
        second = Client().get("/app?theme=light")
    assert first.content == second.content


def test_head_is_answered_and_writes_are_refused():
    assert Client().head("/app/").status_code == 200
    assert Client().post("/app/").status_code == 405


@pytest.mark.parametrize(
    "path", ["/app/widget/product", "/app/other", "/app/widget/customer/x", "/app/popup/order", "/app/popup"]
)
def test_unknown_pages_are_not_found(path):
    assert Client().get(path).status_code == 404


def test_assets_are_served_with_their_type_and_cached_for_good():
    for name in ASSETS:
        response = Client().get(f"/app/assets/{name}")
        assert response.status_code == 200
        assert response["Content-Type"] == ("text/javascript" if name.endswith(".js") else "text/css")
        assert "immutable" in response["Cache-Control"]
        assert response.getvalue() == (views.DIST / "assets" / name).read_bytes()


@pytest.mark.parametrize("name", ["missing.js", "..%2Findex.html", "..", ".%2E%2Fbuild.sha256"])
def test_only_built_assets_are_served(name):
    assert Client().get(f"/app/assets/{name}").status_code == 404


@pytest.fixture
def build(tmp_path, monkeypatch):
    """A build of the pages of our own, in place of the committed one, with the caches of the view emptied."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<script src="/app/assets/index-old.js"></script>')
    (tmp_path / "assets" / "index-old.js").write_text("old();")
    monkeypatch.setattr(views, "DIST", tmp_path)
    views._read_index.cache_clear()
    views._assets.cache_clear()
    yield tmp_path
    views._read_index.cache_clear()
    views._assets.cache_clear()


def test_a_rebuild_under_the_running_app_is_served_and_the_deleted_bundle_is_not_found(build):
    """Found reading the code (fourth real-Dashboard run): the index and the list of assets were read once per
    process, so after `make dashboard` the app named the deleted bundle, and opening it answered 500."""
    client = Client()
    assert client.get("/app/").content == b'<script src="/app/assets/index-old.js"></script>'
    assert client.get("/app/assets/index-old.js").getvalue() == b"old();"  # the list of assets is read now

    # the rebuild: the old bundle deleted, a new one written, and the index naming it
    (build / "assets" / "index-old.js").unlink()
    (build / "assets" / "index-new.js").write_text("new();")
    (build / "index.html").write_text('<script src="/app/assets/index-new.js"></script>!')

    assert client.get("/app/assets/index-old.js").status_code == 404  # listed at first, gone from disk: not a 500
    assert client.get("/app/").content == b'<script src="/app/assets/index-new.js"></script>!'
    new = client.get("/app/assets/index-new.js")  # not in the list read before the rebuild: read again
    assert (new.status_code, new.getvalue(), new["Content-Type"]) == (200, b"new();", "text/javascript")
    assert client.get("/app/assets/index-old.js").status_code == 404


def test_a_checkout_without_a_build_says_so_with_not_found(build):
    (build / "index.html").unlink()
    (build / "assets" / "index-old.js").unlink()
    assert Client().get("/app/").status_code == 404
    assert Client().get("/app/assets/index-old.js").status_code == 404


def test_under_a_script_prefix_the_index_points_at_the_prefixed_assets():
    set_script_prefix("/loyalty/")  # what WSGI sets from SCRIPT_NAME for an app mounted under /loyalty
    try:
        html = Client().get("/app/").content.decode()
    finally:
        set_script_prefix("/")
    assert all(f'"/loyalty/app/assets/{name}"' in html for name in ASSETS)
    assert '"/app/assets/' not in html


# -- the manifest's extensions ---------------------------------------------------------------------------------


def _extensions():
    return {extension["mount"]: extension for extension in build_manifest("https://loyalty.example")["extensions"]}


@pytest.mark.parametrize("version", SALEOR_VERSIONS)
def test_the_extensions_are_accepted_by_each_supported_saleor(version):
    validate_manifest(build_manifest("https://loyalty.example"), version)


def test_the_app_page_is_under_customers_navigation():
    page = _extensions()["NAVIGATION_CUSTOMERS"]
    assert (page["label"], page["target"]) == ("Loyalty", "APP_PAGE")
    assert page["url"].startswith("/")  # Saleor 3.22 refuses an absolute APP_PAGE url


@pytest.mark.parametrize(
    ("mount", "path", "permission"),
    [
        ("CUSTOMER_DETAILS_WIDGETS", "/app/widget/customer", "MANAGE_USERS"),
        ("ORDER_DETAILS_WIDGETS", "/app/widget/order", "MANAGE_ORDERS"),
    ],
)
def test_the_widgets_are_absolute_get_widgets_with_their_permission(mount, path, permission):
    widget = _extensions()[mount]
    assert widget["target"] == "WIDGET"
    assert widget["url"] == f"https://loyalty.example{path}"  # a relative one becomes /app//widget/... on 3.23
    assert widget["options"] == {"widgetTarget": {"method": "GET"}}  # POST widgets get no handshake nor theme
    assert widget["permissions"] == [permission]


def test_the_customer_popup_is_an_absolute_more_actions_popup():
    popup = _extensions()["CUSTOMER_DETAILS_MORE_ACTIONS"]
    assert (popup["label"], popup["target"]) == ("Adjust loyalty points", "POPUP")
    assert popup["url"] == "https://loyalty.example/app/popup/customer"  # absolute: accepted by 3.22 and 3.23
    assert popup["permissions"] == ["MANAGE_USERS"]
    assert "options" not in popup


def test_extension_permissions_are_the_apps():
    for extension in _extensions().values():
        assert set(extension["permissions"]) <= set(PERMISSIONS)


def test_every_extension_url_is_a_page_the_app_serves():
    for extension in _extensions().values():
        path = extension["url"].removeprefix("https://loyalty.example")
        assert Client().get(f"/app{path}" if extension["target"] == "APP_PAGE" else path).status_code == 200
