"""A member's points account in the APIs: balances, pending and expiring points, activity, estimates."""
