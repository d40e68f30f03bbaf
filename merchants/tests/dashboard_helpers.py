"""Helpers for dashboard page tests: a logged-in Django test client for a member of a store."""

from typing import Any

from django.test import Client

from kaleem.tenancy.middleware import SESSION_KEY
from kaleem.testing.factories import MembershipFactory, MerchantFactory, UserFactory


def page_client(role: str = "owner", merchant: Any = None, language: str = "en") -> tuple[Client, Any, Any]:
    """A browser-like client logged in as a `role` of `merchant` (a new store by default)."""
    merchant = merchant or MerchantFactory()
    user = UserFactory()
    MembershipFactory(merchant=merchant, user=user, role=role)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = str(merchant.pk)
    session.save()
    client.cookies["django_language"] = language
    return client, merchant, user
