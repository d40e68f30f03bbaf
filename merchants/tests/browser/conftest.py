"""Playwright (Python) on Debian's /usr/bin/chromium against pytest-django's live server."""

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
def dashboard_browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        skip_or_fail(f"chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed")
    # the sync API keeps an event loop in this thread; test-body ORM calls are plain sync code
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def open_page(dashboard_browser, settings):
    settings.WEBCHAT_POLL_SECONDS = 0.5
    contexts = []

    def make(locale: str = "ar-SA", viewport: dict | None = None, color_scheme: str = "light"):
        context = dashboard_browser.new_context(
            viewport=viewport or {"width": 1280, "height": 860}, locale=locale, color_scheme=color_scheme
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()
    try:
        from channels.webchat import live

        live.close_all()
    except ImportError:
        pass
    time.sleep(0.5)
