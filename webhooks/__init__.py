"""Receiving Saleor's webhooks: verify, store durably in an inbox, answer, then process in a Celery task.

Installed as ``saleor_loyalty.webhooks`` (the wheel maps this folder under the package).
"""
