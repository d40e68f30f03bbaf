"""Test profile: embedded defaults unless DATABASE_URL / REDIS_URL point at real servers."""

from kaleem.settings.base import *  # noqa: F403
from kaleem.settings.base import REDIS_URL, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = False
SSRF_ALLOW_PRIVATE = True
QDRANT_PATH = env("QDRANT_PATH", default=":memory:")
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING", "handlers": []}}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
AUTH_MEMBERSHIP_CACHE_SECONDS = 0.0  # tests change roles through the ORM and expect the next request to see it
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "10000/min"}}  # noqa: F405
