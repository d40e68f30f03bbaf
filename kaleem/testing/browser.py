"""One Playwright/Chromium for the whole test session (Debian's /usr/bin/chromium).

Playwright's sync API keeps an asyncio loop alive in the main thread for as long as it runs, which
trips Django's async-safety guards in ordinary tests; the root conftest therefore runs every
`browser`-marked test last, and all browser suites share this single instance."""

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from kaleem.testing.services import skip_or_fail

CHROMIUM = os.environ.get("KALEEM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        skip_or_fail(f"chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed")
    # test-body ORM calls are plain synchronous code running beside Playwright's loop
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
