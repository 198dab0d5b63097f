"""Referrals: codes, attaching referees, fraud checks and rewards on both sides."""
