import pytest

from kaleem.testing.api import member_client


@pytest.fixture
def owner(db):
    """(client, merchant, user) for an owner of a fresh store."""
    return member_client("owner")


@pytest.fixture
def other_owner(db):
    """An owner of a second, unrelated store: used to prove cross-tenant 404s."""
    return member_client("owner")


pytest_plugins = ["kaleem.testing.browser"]


def pytest_collection_modifyitems(session, config, items):
    """Browser tests run last: while Playwright's loop lives, Django refuses sync calls elsewhere."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
