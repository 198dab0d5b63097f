"""The app manifest Saleor reads at install time (valid for Saleor 3.22 and 3.23)."""

from typing import Any

from django.conf import settings

import saleor_loyalty

from .subscriptions import SUBSCRIPTIONS

APP_ID = "saleor.app.loyalty"
# What the app needs now and for redemption (vouchers on checkouts) and the program (customer metadata):
# order webhooks, customer webhooks + metadata, voucher create/delete, checkout promo codes. Nothing more.
PERMISSIONS = ("MANAGE_ORDERS", "MANAGE_USERS", "MANAGE_DISCOUNTS", "MANAGE_CHECKOUTS")
REQUIRED_SALEOR_VERSION = ">=3.22 <4"


def build_manifest(app_url: str | None = None) -> dict[str, Any]:
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
                "query": sub.query,
                "asyncEvents": list(sub.events),
                "isActive": True,
            }
            for sub in SUBSCRIPTIONS
        ],
        "extensions": [],
    }
