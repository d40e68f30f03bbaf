import pytest

from catalog.search import engine
from kaleem.outbox.services import relay_pending


@pytest.fixture(autouse=True)
def _fresh_search_state():
    engine.forget_lexical_indexes()
    yield
    engine.forget_lexical_indexes()


@pytest.fixture
def relay():
    """Deliver pending outbox events now (the relay a worker would run after commit)."""
    return relay_pending
