"""Playwright (Python) driving Debian's /usr/bin/chromium against pytest-django's live server."""

import time

import pytest


@pytest.fixture(scope="session")
def browser(chromium):
    return chromium


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
