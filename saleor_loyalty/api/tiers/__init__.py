"""Tiers in the storefront API: the shopper's tier, progress and history (the staff side is ``api/tiers_panel``)."""
