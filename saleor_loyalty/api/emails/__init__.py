"""The program's shopper emails for staff: which kinds go out, the sender, a preview of each with sample data."""

# Part of the program's configuration, like its settings.
PERMISSION = "MANAGE_DISCOUNTS"
