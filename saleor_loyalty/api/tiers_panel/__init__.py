"""The tiers panel for staff: define and order tiers, members per tier, movements, the next review's preview,
pins. (The shopper's side is ``api/tiers``.)"""

# Tiers are part of the program (MANAGE_DISCOUNTS, like its settings); who is in which tier, and pinning a
# customer, are about customers (MANAGE_USERS).
PROGRAM_PERMISSION = "MANAGE_DISCOUNTS"
CUSTOMER_PERMISSION = "MANAGE_USERS"
