"""The rewards catalog and bonus campaigns for staff (the dashboard's Rewards and Campaigns tabs).

Product, variant and category pickers search the store through Saleor's own API from the page (with the
AppBridge token); these fields take the Saleor ids they pick.
"""

# Part of the program's configuration, like its settings: running discounts.
PERMISSION = "MANAGE_DISCOUNTS"
