"""Domain signals other parts of the program listen to (tiers, referrals, bonuses, emails).

Sent inside the transaction of the action that caused them, so a receiver's writes commit or roll back with it;
receivers that talk to the outside world (emails, Saleor metadata) must defer that work with
``transaction.on_commit``. Receivers must be idempotent: an order can be reconciled many times.
"""

from django.dispatch import Signal

# After an order's points were reconciled. kwargs: install, order (OrderSnapshot), member (Member),
# award (OrderAward, saved), outcome (orders.Outcome), settlement (orders.Settlement: the program settings this
# reconcile read and the points it issued — receivers read these instead of querying them again).
order_reconciled = Signal()

# After a customer event was applied. kwargs: install, customer (CustomerSnapshot), member (Member),
# event ("customer_created" | "account_confirmed" | "customer_updated").
customer_changed = Signal()
