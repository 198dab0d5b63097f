"""Paid memberships of a tier on Stripe Checkout subscriptions (issue #11): plans, memberships, per-period benefits,
and the Stripe webhooks that grant, keep and remove the tier. Merchant and storefront guide: docs/memberships.md.
"""
