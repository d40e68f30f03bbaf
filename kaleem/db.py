"""One transaction helper for every backend: ``from kaleem.db import atomic, on_commit``.

Why not ``django.db.transaction`` directly: on MongoDB, Django's ``atomic()`` is a no-op
(django-mongodb-backend sets ``supports_transactions = False``) and the backend ships its own
``django_mongodb_backend.transaction.atomic``. This module picks the right one per database alias
(by the connection's vendor, so it follows ``DATABASES``, not a flag), and keeps one behaviour:

* ``atomic`` works as ``@atomic``, ``@atomic()``, ``with atomic():`` and takes ``using`` / ``durable``.
* Outermost block: commit on success, roll back on an exception, on every backend.
* Nested blocks: on SQL they are savepoints (an exception inside rolls back only the inner block).
  MongoDB has no savepoints. If an exception leaves a nested block and the caller catches it, SQL
  would keep the outer work but drop the inner; MongoDB would commit the inner block's partial
  writes. We refuse that: the outermost block then rolls back everything and raises
  ``TransactionManagementError`` (loud instead of silently different). On SQL the same situation
  emits ``MongoDBPortabilityWarning``, so the SQL test suite points at code that would fail on
  MongoDB. Write portable code by validating before writing, or by making each unit its own
  outermost block.
* ``on_commit(fn)``: inside a block, ``fn`` runs after the outermost block commits and is dropped
  if it rolls back; outside any block it runs at once. Both backends route this through
  ``django.db.transaction.on_commit`` -> ``connection.on_commit``, which django-mongodb-backend
  overrides to follow its own transactions, so one call serves both.

MongoDB needs a replica set (a single node is enough) or a sharded cluster for transactions; on a
standalone server the first write inside ``atomic()`` fails with a DatabaseError. See
docs/databases.md."""

import warnings
from collections.abc import Callable
from contextlib import ContextDecorator
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.transaction import TransactionManagementError

# Set on a connection when an exception left a nested block; read by the outermost block.
_INNER_FAILED = "kaleem_inner_atomic_failed"
# Depth of kaleem.db.atomic blocks on a SQL connection (Django's own blocks, e.g. the test case's
# transaction, are not counted: "outermost" means outermost of ours).
_DEPTH = "kaleem_atomic_depth"
NESTED_FAILURE = (
    "A nested atomic() block raised and the outer block caught the exception and went on. SQL rolled "
    "back to a savepoint; MongoDB has no savepoints, so there the whole transaction is rolled back "
    "and TransactionManagementError is raised (see kaleem/db.py and docs/databases.md)."
)


class MongoDBPortabilityWarning(RuntimeWarning):
    """Code that works on SQL but behaves differently on the MongoDB profile."""


def is_mongodb(using: str | None = None) -> bool:
    """Whether the alias is served by django-mongodb-backend (no connection is opened)."""
    return connections[using or DEFAULT_DB_ALIAS].vendor == "mongodb"


class MongoAtomic(ContextDecorator):
    """django-mongodb-backend's ``atomic`` plus ``durable`` and the nested-failure rule above.

    Keeps no per-use state on the instance (like Django's Atomic), so one decorated function may
    be re-entered recursively or from several threads."""

    def __init__(self, using: str, durable: bool = False) -> None:
        self.using = using
        self.durable = durable

    def _backend_block(self) -> Any:
        from django_mongodb_backend.transaction import Atomic

        return Atomic(self.using)

    def __enter__(self) -> None:
        connection = connections[self.using]
        if connection.in_atomic_block_mongo:
            if self.durable:
                raise RuntimeError("A durable atomic block cannot be nested within another atomic block.")
        else:
            setattr(connection, _INNER_FAILED, False)
        self._backend_block().__enter__()

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        connection = connections[self.using]
        outermost = connection.nested_atomics == 0
        block = self._backend_block()
        if not outermost:
            if exc_type is not None:
                setattr(connection, _INNER_FAILED, True)
            block.__exit__(exc_type, exc_value, traceback)
            return
        if exc_type is None and getattr(connection, _INNER_FAILED, False):
            setattr(connection, _INNER_FAILED, False)
            block.__exit__(TransactionManagementError, None, None)  # rolls back, drops on_commit callbacks
            raise TransactionManagementError(NESTED_FAILURE)
        setattr(connection, _INNER_FAILED, False)
        block.__exit__(exc_type, exc_value, traceback)


class SqlAtomic(transaction.Atomic):
    """Django's Atomic, unchanged, plus the bookkeeping that warns about nested failures."""

    def __enter__(self) -> None:
        super().__enter__()
        connection = connections[self.using or DEFAULT_DB_ALIAS]
        depth = getattr(connection, _DEPTH, 0)
        if depth == 0:
            setattr(connection, _INNER_FAILED, False)
        setattr(connection, _DEPTH, depth + 1)

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
        connection = connections[self.using or DEFAULT_DB_ALIAS]
        depth = max(getattr(connection, _DEPTH, 1) - 1, 0)
        setattr(connection, _DEPTH, depth)
        caught_nested_failure = False
        if depth and exc_type is not None:
            setattr(connection, _INNER_FAILED, True)
        elif not depth:
            caught_nested_failure = exc_type is None and getattr(connection, _INNER_FAILED, False)
            setattr(connection, _INNER_FAILED, False)
        result = super().__exit__(exc_type, exc_value, traceback)  # commit/rollback first, always
        if caught_nested_failure:
            warnings.warn(NESTED_FAILURE, MongoDBPortabilityWarning, stacklevel=2)
        return result


def atomic(using: str | None | Callable[..., Any] = None, *, durable: bool = False, savepoint: bool = True) -> Any:
    """Django's ``transaction.atomic`` on SQL; the backend's transaction API on MongoDB.

    ``savepoint=False``: nested in another block, this one joins it without a savepoint (two round
    trips fewer on SQL); an exception leaving it then dooms the whole transaction, which is what
    MongoDB does anyway. For blocks whose callers never catch their exceptions and carry on."""
    if callable(using):  # bare @atomic: "using" is the decorated function
        return atomic(DEFAULT_DB_ALIAS)(using)
    alias = using or DEFAULT_DB_ALIAS
    if is_mongodb(alias):
        return MongoAtomic(alias, durable=durable)
    return SqlAtomic(alias, savepoint, durable)


def in_transaction(using: str | None = None) -> bool:
    """Whether an ``atomic`` block is open on the alias (either backend). Outside one, a single write
    runs in autocommit: a unique-constraint error leaves no transaction to roll back."""
    connection = connections[using or DEFAULT_DB_ALIAS]
    if connection.vendor == "mongodb":
        return bool(getattr(connection, "in_atomic_block_mongo", False))
    return connection.in_atomic_block


def on_commit(func: Callable[[], Any], using: str | None = None, *, robust: bool = False) -> None:
    """Run ``func`` after the current outermost ``atomic`` commits (at once outside one)."""
    transaction.on_commit(func, using=using, robust=robust)
