"""The program's settings and their change log, for the dashboard's Program page."""

# Staff need this Saleor permission (carried by the dashboard's token) to read or change the program: running
# the loyalty program is running discounts, so whoever may manage the store's discounts may manage it.
PERMISSION = "MANAGE_DISCOUNTS"
