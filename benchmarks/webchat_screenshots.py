"""Screenshots of the widget on the demo storefront: desktop and 360-px phone, Arabic and English.

.venv/bin/python benchmarks/webchat_screenshots.py   # writes docs/screenshots/webchat-*.png"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.webchat_common import CHROMIUM, CHROMIUM_ARGS, DEMO_SLUG, ROOT, demo_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
# The demo catalog points at placehold.co images; this machine has no internet, so answer those
# requests locally with the same kind of placeholder (grey square with the product's code).
PLACEHOLDER = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600"><rect width="600" height="600" '
    'fill="#dde3ea"/><text x="300" y="310" font-family="DejaVu Sans" font-size="44" fill="#64748b" '
    'text-anchor="middle">{text}</text></svg>'
)


def _placeholder(route) -> None:
    from html import escape
    from urllib.parse import parse_qs, urlsplit

    text = parse_qs(urlsplit(route.request.url).query).get("text", [""])[0][:24]
    route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER.format(text=escape(text)))


SHOTS = [
    # name, viewport, locale, messages
    ("desktop-ar", {"width": 1280, "height": 800}, "ar", ["ابغى عباية سوداء"]),
    ("desktop-en", {"width": 1280, "height": 800}, "en", ["Do you have white sneakers?"]),
    ("mobile-ar", {"width": 360, "height": 740}, "ar", ["ابغى شنطة جلد"]),
    ("mobile-en", {"width": 360, "height": 740}, "en", ["What is your return policy?"]),
    ("handoff-ar", {"width": 360, "height": 740}, "ar", ["كم مدة الشحن؟", "ابغى اكلم موظف"]),
]


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with demo_server() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, viewport, locale, messages in SHOTS:
            context = browser.new_context(viewport=viewport, locale=locale, device_scale_factor=1)
            context.route("https://placehold.co/**", _placeholder)
            page = context.new_page()
            page.goto(f"{url}/demo/{DEMO_SLUG}/")
            host = page.locator("#kaleem-webchat")
            host.locator(".k-launcher").click()
            page.evaluate("(l) => window.Kaleem.setLocale(l)", locale)
            for text in messages:
                before = host.locator(".k-them:not(.k-greeting)").count()
                host.locator(".k-input").fill(text)
                host.locator(".k-input").press("Enter")
                expect(host.locator(".k-them:not(.k-greeting)").nth(before)).to_be_visible(timeout=20_000)
            page.wait_for_timeout(600)  # images and the scroll settle
            path = OUT / f"webchat-{name}.png"
            page.screenshot(path=str(path))
            print(path.relative_to(ROOT))
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
