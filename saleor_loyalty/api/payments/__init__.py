"""The store's Stripe connection in the staff API: the merchant connects the keys rebates and paid memberships use.

The same permission as the program's settings (``MANAGE_DISCOUNTS``): whoever may set how money is given back may
connect the account it is paid from. Secrets go in and never come out: the API shows the mode, the publishable key,
the secret key's last four characters and the webhook URL to enter in Stripe."""

PERMISSION = "MANAGE_DISCOUNTS"
