"""One transaction helper for every backend.

SQL backends get Django's ``atomic``; on MongoDB, django-mongodb-backend's own transaction API
(which needs a replica set). ``on_commit`` runs callbacks after the outermost block commits on
both, and immediately when no transaction is open."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.conf import settings
from django.db import transaction


def atomic(using: str | None = None) -> AbstractContextManager[Any]:
    if getattr(settings, "IS_MONGODB", False):
        from django_mongodb_backend import transaction as mongo_transaction

        return mongo_transaction.atomic(using=using)
    return transaction.atomic(using=using)


def on_commit(func: Callable[[], Any], using: str | None = None) -> None:
    if getattr(settings, "IS_MONGODB", False):
        from django_mongodb_backend import transaction as mongo_transaction

        mongo_transaction.on_commit(func, using=using)
        return
    transaction.on_commit(func, using=using)
