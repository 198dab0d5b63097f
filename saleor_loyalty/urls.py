from django.urls import path, re_path

from saleor_loyalty.api.rebates import downloads as rebate_downloads
from saleor_loyalty.api.views import graphql_view, staff_graphql_view
from saleor_loyalty.core import views as core_views
from saleor_loyalty.dashboard import urls as dashboard_urls
from saleor_loyalty.payments import views as stripe_views
from saleor_loyalty.saleor import views as saleor_views
from saleor_loyalty.webhooks import views as webhook_views

urlpatterns = [
    path("api/manifest", saleor_views.manifest, name="manifest"),
    path("api/register", saleor_views.register, name="register"),
    path("api/webhooks/<slug:path>", webhook_views.receive, name="webhook"),
    path("stripe/webhooks/<str:token>/", stripe_views.receive, name="stripe-webhook"),
    *dashboard_urls.urlpatterns,  # the dashboard pages: /app/, its widgets and assets
    path("static/logo.png", saleor_views.logo, name="logo"),
    path("privacy", saleor_views.privacy, name="privacy"),
    path("graphql/", graphql_view, name="graphql"),
    path("dashboard/graphql/", staff_graphql_view, name="staff-graphql"),
    re_path(r"^dashboard/rebates/(?P<period>[^/]{1,16})/statements\.csv$", rebate_downloads.statements_csv),
    re_path(r"^dashboard/rebates/(?P<period>[^/]{1,16})/audit\.csv$", rebate_downloads.audit_csv),
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", core_views.metrics, name="metrics"),
]
