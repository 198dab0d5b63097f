"""Cross-cutting pieces every domain package uses: money, encryption, logs, metrics, health."""
