"""Shopper emails: points earned, about to expire, tier changes, referral rewards, welcome — each sent once."""
