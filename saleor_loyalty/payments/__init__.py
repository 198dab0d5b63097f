"""The Stripe integration: each store's Stripe account, calls to Stripe, and Stripe's signed webhooks.

An outside integration like ``saleor``: it knows installs and Stripe, nothing of members, points or rebates.
Features (rebate payouts, paid VIP tiers) call its actions and register handlers for the events they need.
Design and merchant setup: docs/stripe.md.
"""
