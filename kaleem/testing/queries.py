"""Query-count guards for list endpoints and pages (N+1 regressions fail loudly)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext


@contextmanager
def assert_max_queries(limit: int) -> Iterator[CaptureQueriesContext]:
    """Fail when the block runs more than `limit` SQL queries, listing them."""
    with CaptureQueriesContext(connection) as captured:
        yield captured
    executed = len(captured.captured_queries)
    if executed > limit:
        listing = "\n".join(f"{i}. {q['sql']}" for i, q in enumerate(captured.captured_queries, 1))
        raise AssertionError(f"{executed} queries executed, at most {limit} expected:\n{listing}")
