"""The rewards catalog and bonus campaigns for staff (the dashboard's Rewards and Campaigns tabs).

The campaign form's product and category pickers search the store through this API (``searchProducts``,
``searchCategories``), which asks Saleor with the app's own token (``saleor_loyalty.saleor.catalog``): the page
talks to nothing but this app, and the ids a campaign is saved with are checked with the store first.
"""

# Part of the program's configuration, like its settings: running discounts.
PERMISSION = "MANAGE_DISCOUNTS"
