"""The app manifest Saleor reads at install time (valid for Saleor 3.22 and 3.23)."""

from typing import Any

from django.conf import settings

import saleor_loyalty

from .subscriptions import SUBSCRIPTIONS

APP_ID = "saleor.app.loyalty"
# What the app needs now and for redemption (vouchers on checkouts) and the program (customer metadata):
# order webhooks, customer webhooks + metadata, voucher create/delete, checkout promo codes; and rebates paid as
# store credit (gift cards: create, top up, read back). Nothing more.
PERMISSIONS = ("MANAGE_ORDERS", "MANAGE_USERS", "MANAGE_DISCOUNTS", "MANAGE_CHECKOUTS", "MANAGE_GIFT_CARD")
REQUIRED_SALEOR_VERSION = ">=3.22 <4"


def build_manifest(app_url: str | None = None, saleor_version: str | None = None) -> dict[str, Any]:
    """The manifest for a Saleor of ``saleor_version`` (its ``Saleor-Schema-Version`` header; None: unknown, the
    documents every supported line accepts)."""
    base = (app_url or settings.APP_URL).rstrip("/")
    return {
        "id": APP_ID,
        "version": saleor_loyalty.__version__,
        "name": "Loyalty",
        "about": "Points, rebates, tiers and referrals for your Saleor store.",
        "permissions": list(PERMISSIONS),
        "appUrl": f"{base}/app/",
        "tokenTargetUrl": f"{base}/api/register",
        "dataPrivacyUrl": f"{base}/privacy",
        "homepageUrl": "https://github.com/saleor-loyalty/saleor-loyalty",
        "supportUrl": "https://github.com/saleor-loyalty/saleor-loyalty/issues",
        "author": "saleor-loyalty contributors",
        "brand": {"logo": {"default": f"{base}/static/logo.png"}},
        "requiredSaleorVersion": REQUIRED_SALEOR_VERSION,
        "webhooks": [
            {
                "name": sub.name,
                "targetUrl": f"{base}/api/webhooks/{sub.path}",
                "query": sub.query_for(saleor_version),
                "asyncEvents": list(sub.events),
                "isActive": True,
            }
            for sub in SUBSCRIPTIONS
        ],
        "extensions": dashboard_extensions(base),
    }


def dashboard_extensions(base: str) -> list[dict[str, Any]]:
    """Where the dashboard shows the app's pages (saleor_loyalty/dashboard serves them all from one build).

    The APP_PAGE url is relative: Saleor 3.22 refuses an absolute one, and the dashboard opens it under `appUrl`.
    Widgets and the popup are absolute: a relative url is glued onto `appUrl` (`/app//widget/...`) on 3.23, and
    both 3.22 and 3.23 accept an absolute POPUP url. Widgets use GET so the page gets the AppBridge handshake (its
    token and theme); a POST widget gets neither. The popup (a customer's "more actions": adjust points, pin a tier)
    closes itself after a save. Each asks for the Saleor permission its data needs, a subset of the app's.
    """
    return [
        {
            "label": "Loyalty",
            "mount": "NAVIGATION_CUSTOMERS",
            "target": "APP_PAGE",
            "url": "/",
            "permissions": ["MANAGE_USERS"],
        },
        {
            "label": "Loyalty",
            "mount": "CUSTOMER_DETAILS_WIDGETS",
            "target": "WIDGET",
            "url": f"{base}/app/widget/customer",
            "permissions": ["MANAGE_USERS"],
            "options": {"widgetTarget": {"method": "GET"}},
        },
        {
            "label": "Adjust loyalty points",
            "mount": "CUSTOMER_DETAILS_MORE_ACTIONS",
            "target": "POPUP",
            "url": f"{base}/app/popup/customer",
            "permissions": ["MANAGE_USERS"],
        },
        {
            "label": "Loyalty points",
            "mount": "ORDER_DETAILS_WIDGETS",
            "target": "WIDGET",
            "url": f"{base}/app/widget/order",
            "permissions": ["MANAGE_ORDERS"],
            "options": {"widgetTarget": {"method": "GET"}},
        },
    ]
