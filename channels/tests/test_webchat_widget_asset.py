"""The widget file itself and the demo storefront page that embeds it."""

import gzip
import re
from pathlib import Path

import pytest
from django.conf import settings

from channels.tests.webchat_helpers import webchat_channel

WIDGET = Path(settings.BASE_DIR) / "static" / "webchat" / "widget.js"


def test_widget_is_small_and_self_contained():
    source = WIDGET.read_bytes()
    assert len(gzip.compress(source, 9)) <= 35 * 1024
    text = source.decode()
    hosts = set(re.findall(r"https?://([^/\"' ]+)", text)) - {"www.w3.org", "HOST"}
    assert hosts == set(), f"widget.js references third-party hosts: {hosts}"
    # Untrusted text is only ever written with textContent.
    assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "document.write" not in text
    assert "eval(" not in text and "new Function" not in text


@pytest.mark.django_db
def test_demo_storefront_embeds_the_widget_with_one_tag(client):
    channel = webchat_channel()
    r = client.get(f"/demo/{channel.merchant.slug}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert f'data-channel="{channel.public_key}" async></script>' in html
    assert html.count("webchat/widget.js") == 2  # the tag itself and the copy-paste snippet
    assert "* { all: unset; }" not in html
    assert "* { all: unset; }" in client.get(f"/demo/{channel.merchant.slug}/?css=unset").content.decode()


@pytest.mark.django_db
def test_demo_storefront_of_unknown_store_or_store_without_webchat_is_404(client):
    assert client.get("/demo/no-such-store/").status_code == 404
    channel = webchat_channel()
    channel.status = "disabled"
    channel.save()
    assert client.get(f"/demo/{channel.merchant.slug}/").status_code == 404
