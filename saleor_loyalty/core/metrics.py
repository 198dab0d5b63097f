"""Prometheus metrics. One registry per process; under gunicorn set PROMETHEUS_MULTIPROC_DIR to aggregate."""

from prometheus_client import Counter, Histogram

WEBHOOKS_RECEIVED = Counter("loyalty_webhooks_received_total", "Webhook deliveries that reached the app", ["event"])
WEBHOOKS_REJECTED = Counter(
    "loyalty_webhooks_rejected_total", "Webhook deliveries refused before storing", ["event", "reason"]
)
WEBHOOKS_STORED = Counter(
    "loyalty_webhooks_stored_total", "Webhook deliveries stored in the inbox", ["event", "duplicate"]
)
WEBHOOKS_PROCESSED = Counter("loyalty_webhooks_processed_total", "Inbox events processed", ["event", "outcome"])
WEBHOOK_BATCH_FALLBACKS = Counter(
    "loyalty_webhook_batch_fallbacks_total", "Inbox batches rolled back and processed one event at a time"
)
LEDGER_POSTINGS = Counter("loyalty_ledger_postings_total", "Ledger transfers posted", ["kind"])
WEBHOOK_INGEST_SECONDS = Histogram("loyalty_webhook_ingest_seconds", "Time to verify and store a webhook delivery")
