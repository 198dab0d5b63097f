"""Rebates in both APIs: the shopper's progress, statements and the program's terms (storefront); the programs,
totals by period, the audit and a customer's statements (staff); the CSV downloads (``downloads``)."""

from ..customers import PERMISSION as CUSTOMER_PERMISSION
from ..program import PERMISSION

# Rebate programs are part of the loyalty program (MANAGE_DISCOUNTS, as its settings); a customer's rebate
# statements are part of the customer (MANAGE_USERS, as the rest of the customer widget).
__all__ = ["CUSTOMER_PERMISSION", "PERMISSION"]
