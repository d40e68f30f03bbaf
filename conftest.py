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
