"""Membership tiers (e.g. Bronze/Silver/Gold): qualification, reviews, pins and benefits."""
