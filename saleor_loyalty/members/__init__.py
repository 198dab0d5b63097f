"""Loyalty members: one per Saleor customer of an install (or per guest email until the guest registers)."""
