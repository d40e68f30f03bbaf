import pytest

from catalog.search import engine
from integrations.tests.fakes import FakeN8n, FakeSalla, FakeShopify, FakeZid


@pytest.fixture(autouse=True)
def _fresh_search_state():
    engine.forget_lexical_indexes()
    yield
    engine.forget_lexical_indexes()


@pytest.fixture
def fake_shopify():
    server = FakeShopify()
    yield server
    server.close()


@pytest.fixture
def fake_salla():
    server = FakeSalla()
    yield server
    server.close()


@pytest.fixture
def fake_zid():
    server = FakeZid()
    yield server
    server.close()


@pytest.fixture
def n8n():
    server = FakeN8n()
    yield server
    server.close()
