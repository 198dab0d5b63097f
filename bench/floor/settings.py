"""Minimal Django settings for the floor view: no apps, no middleware, one PostgreSQL connection per worker.

``DATABASE_URL`` (the bench database) and ``BENCH_FLOOR_JWKS`` (a JWKS file) come from the environment.
"""

import environ

env = environ.Env()

SECRET_KEY = "bench-floor-secret-key-not-for-production-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.floor.urls"
WSGI_APPLICATION = "bench.floor.wsgi.application"
DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = 60  # same as the app's default
USE_TZ = True
TIME_ZONE = "UTC"
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
