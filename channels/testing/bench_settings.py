"""Settings for the channels worker test and the webhook benchmark: the production base profile
with loopback fakes allowed and the assistant's burst quiet period configurable."""

from kaleem.settings.base import *  # noqa: F403
from kaleem.settings.base import env

SSRF_ALLOW_PRIVATE = True
ASSISTANT_QUIET_PERIOD_SECONDS = env.float("ASSISTANT_QUIET_PERIOD_SECONDS", default=1.2)
QDRANT_PATH = env("QDRANT_PATH", default=":memory:")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"level": "ERROR", "handlers": ["console"]},
}
