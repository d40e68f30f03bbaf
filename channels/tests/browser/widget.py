"""Page-object helpers for the widget inside its shadow root (Playwright CSS pierces open shadows)."""

from typing import Any

from playwright.sync_api import Page, expect


class Widget:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.host = page.locator("#kaleem-webchat")
        self.launcher = self.host.locator(".k-launcher")
        self.panel = self.host.locator(".k-panel")
        self.root = self.host.locator(".k-root")
        self.input = self.host.locator(".k-input")
        self.log = self.host.locator(".k-log")
        self.banner = self.host.locator(".k-banner")
        self.badge = self.host.locator(".k-badge")

    def open(self) -> None:
        expect(self.launcher).to_be_visible()
        self.launcher.click()
        expect(self.panel).to_be_visible()

    def replies(self) -> Any:
        return self.host.locator(".k-them:not(.k-greeting)")

    def send(self, text: str) -> str:
        """Type and send; returns the text of the first reply that arrives after it."""
        before = self.replies().count()
        self.input.fill(text)
        self.input.press("Enter")
        reply = self.replies().nth(before)
        expect(reply).to_be_visible(timeout=15_000)
        return reply.inner_text()

    def mine(self) -> Any:
        return self.host.locator(".k-me")
