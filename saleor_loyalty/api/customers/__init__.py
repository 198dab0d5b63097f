"""A customer's loyalty account for staff: the dashboard's customer widget and its "adjust points" action."""

# A customer's loyalty account is part of the customer (as in the storefront schema's adjustPoints).
PERMISSION = "MANAGE_USERS"
