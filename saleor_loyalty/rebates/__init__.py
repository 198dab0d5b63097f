"""Rebates: a share of what a shopper spent comes back to them as money (issue #11)."""
