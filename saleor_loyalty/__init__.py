"""saleor-loyalty: a Saleor app that runs a store's loyalty program.

The Celery app is imported here so that ``@shared_task`` functions bind to it whenever Django starts.
"""

from .celery_app import app as celery_app

__version__ = "0.1.0"
__all__ = ["__version__", "celery_app"]
