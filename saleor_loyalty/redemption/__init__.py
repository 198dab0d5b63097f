"""Spending points at checkout: holds in the ledger, single-use Saleor vouchers, capture on order, returns."""
