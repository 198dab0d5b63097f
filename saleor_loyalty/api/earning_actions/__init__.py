"""Custom earning actions and the server API keys that report them (``recordEvent``), for staff."""

# Part of the program's configuration, like its settings.
PERMISSION = "MANAGE_DISCOUNTS"
