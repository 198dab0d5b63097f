"""The referrals panel's review queue for staff: held referrals with why, approve or reject, and the decisions.

(The shopper's side of referrals is ``api/referrals.py``.)
"""

# Referrals are between customers: reviewing them is managing customers.
PERMISSION = "MANAGE_USERS"
