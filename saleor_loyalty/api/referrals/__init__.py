"""Referrals in the storefront API: a shopper's code, link, stats and referrals, and applying a friend's code
(the staff side, the review queue, is ``api/referral_review``)."""
