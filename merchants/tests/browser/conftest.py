"""Playwright (Python) on Debian's /usr/bin/chromium against pytest-django's live server."""

import time

import pytest


@pytest.fixture(scope="session")
def dashboard_browser(chromium):
    return chromium


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
