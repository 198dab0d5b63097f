"""An order's points for staff: the dashboard's order widget."""

PERMISSION = "MANAGE_ORDERS"
