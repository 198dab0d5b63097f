"""URLs of the dashboard pages. The dashboard drops the app URL's trailing slash, and appends a relative extension
URL to it (`/app/` + `/widget/order` = `/app//widget/order`), so every page answers with or without slashes.

The dashboard also appends its own sub-path after `/dashboard/extensions/app/<id>` to `appUrl` (an app's deep link):
opened with the id not percent-encoded (`.../app/QXBwOjE=`, as Saleor's GraphQL spells it), Dashboard 3.23.27 took
the whole path for one and loaded `/app/extensions/app/QXBwOjE=`: that path is the app page too. Other unknown paths
stay 404 (a widget mounted with a wrong url should show it)."""

from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^app/*$", views.page, name="app-home"),
    re_path(r"^app/+widget/+(customer|order)/*$", views.page, name="dashboard-widget"),
    re_path(r"^app/+popup/+customer/*$", views.page, name="dashboard-popup"),
    re_path(r"^app/assets/(?P<name>[A-Za-z0-9._-]+)$", views.asset, name="dashboard-asset"),
    re_path(r"^app/+extensions/+app/+[^/]+/*$", views.page, name="dashboard-deep-link"),
]
