"""Redemption in the storefront API: the reward catalog, the checkout's redemption, and the mutations that
redeem points or a reward and cancel a redemption."""
