"""URLs of the dashboard pages. The dashboard drops the app URL's trailing slash, and appends a relative extension
URL to it (`/app/` + `/widget/order` = `/app//widget/order`), so every page answers with or without slashes."""

from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^app/*$", views.page, name="app-home"),
    re_path(r"^app/+widget/+(customer|order)/*$", views.page, name="dashboard-widget"),
    re_path(r"^app/+popup/+customer/*$", views.page, name="dashboard-popup"),
    re_path(r"^app/assets/(?P<name>[A-Za-z0-9._-]+)$", views.asset, name="dashboard-asset"),
]
