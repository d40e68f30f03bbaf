"""The channel + recipient token buckets taken in one round trip, all or nothing (Redis when
REDIS_URL is set — CI — else the in-process fallback; both must behave the same)."""

import uuid

import pytest

from kaleem.ratelimit import try_acquire, try_acquire_many


@pytest.fixture(params=["redis", "local"])
def buckets_backend(request, settings):
    if request.param == "redis":
        from kaleem.testing.services import redis_url_or_skip

        settings.REDIS_URL = redis_url_or_skip()
    else:
        settings.REDIS_URL = ""
    return request.param


def test_recipient_limit_does_not_burn_the_channel_token(buckets_backend):
    key = uuid.uuid4().hex
    channel = (f"{key}:ch", 1.0, 2.0)  # burst 2, slow refill
    recipient_a = (f"{key}:to:a", 1 / 6, 1.0)  # WhatsApp-like: 1 per 6 s per recipient
    recipient_b = (f"{key}:to:b", 1 / 6, 1.0)
    assert try_acquire_many([channel, recipient_a]) == 0.0
    wait = try_acquire_many([channel, recipient_a])  # recipient a is empty: refused…
    assert 5.0 < wait <= 6.0
    # …and the channel kept its second token for another customer
    assert try_acquire_many([channel, recipient_b]) == 0.0
    assert try_acquire_many([channel, (f"{key}:to:c", 1 / 6, 1.0)]) > 0  # now the channel is empty


def test_single_bucket_matches_try_acquire(buckets_backend):
    key = uuid.uuid4().hex
    assert try_acquire_many([(key, 10.0, 1.0)]) == 0.0
    assert try_acquire(key, rate=10.0, burst=1.0) == pytest.approx(0.1, abs=0.02)
