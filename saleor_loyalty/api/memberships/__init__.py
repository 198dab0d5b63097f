"""Paid memberships in the storefront API: the plans on sale, the shopper's membership, starting one."""
