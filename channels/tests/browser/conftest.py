"""Playwright (Python) driving Debian's /usr/bin/chromium against pytest-django's live server."""

import os
import shutil
import time

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
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        skip_or_fail(f"chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed")
    # Playwright's sync API keeps an event loop in this thread; our ORM calls in the test body are
    # plain synchronous code, so Django's async-safety guard does not apply to them.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser, settings):
    """Pages in fresh browser contexts; at teardown the contexts close and the live server's open
    SSE streams end before the test database goes away."""
    settings.WEBCHAT_POLL_SECONDS = 0.5
    contexts = []

    def make(viewport: dict | None = None, locale: str = "ar-SA", **options):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800}, locale=locale, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        return page

    yield make
    for context in contexts:
        context.close()
    from channels.webchat import live

    live.close_all()
    time.sleep(0.7)


@pytest.fixture
def page(new_page):
    return new_page()
