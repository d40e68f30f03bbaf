"""Settings of the processes `test_outbox_kicks.py` starts: the production base profile (a real broker,
Redis as the shared cache) plus the slow test handler in the worker."""

from channels.testing.bench_settings import *  # noqa: F403
from kaleem.settings.base import CELERY_INCLUDE

CELERY_INCLUDE = [*CELERY_INCLUDE, "kaleem.tests.outbox_kick_support"]
