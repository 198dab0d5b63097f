"""A fixed-window rate limit on the shared cache (Redis in production, so every web process counts together)."""

import time

from django.core.cache import cache


class RateLimited(Exception):
    pass


def hit(key: str, limit: int, window_seconds: int) -> int:
    """Count one attempt for ``key``; raise ``RateLimited`` past ``limit`` attempts in the current window."""
    bucket = f"ratelimit:{key}:{int(time.time() // window_seconds)}"
    cache.add(bucket, 0, window_seconds + 1)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, window_seconds + 1)
        count = 1
    if count > limit:
        raise RateLimited(key)
    return count
