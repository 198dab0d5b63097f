"""The referrals panel for staff: the program's terms, the funnel, top referrers, and the review queue (held
referrals with why, approve or reject, the decisions).

(The shopper's side of referrals is ``api/referrals``.)
"""

# Referrals are between customers: reviewing them, the funnel and the top referrers are about customers; the
# program's terms are part of the program (like its settings).
PERMISSION = "MANAGE_USERS"
PROGRAM_PERMISSION = "MANAGE_DISCOUNTS"
