"""Paid memberships in both APIs: the plans on sale, the shopper's membership and starting one (storefront); the
merchant's plans, their members and where Checkout may return (staff)."""

from ..program import PERMISSION

# Selling a tier is part of running the loyalty program (MANAGE_DISCOUNTS, as its settings and the Stripe keys).
__all__ = ["PERMISSION"]
