"""Demo data: the demo store's webchat channel, with a stable public key the widget page uses."""

from typing import Any

from channels.models import Channel, ChannelKind

DEMO_WEBCHAT_PUBLIC_KEY = "ch_demo_webchat"

DEMO_WEBCHAT_SETTINGS = {
    "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"],
    "greeting": {
        "ar": "أهلاً بك في متجرنا! كيف أقدر أساعدك اليوم؟",
        "en": "Welcome to our store! How can I help you today?",
    },
    "colors": {"primary": "#0F766E", "background": "#FFFFFF", "text": "#111827"},
    "logo_url": "",
    "default_language": "ar",
}


def demo_load(*, merchant: Any, **_: Any) -> Channel:
    """Idempotent: finds the demo channel by its public key, (re)creating it if needed."""
    channel = Channel.objects.filter(public_key=DEMO_WEBCHAT_PUBLIC_KEY).first()
    if channel is not None and channel.merchant_id == getattr(merchant, "pk", merchant):
        return channel
    if channel is not None:  # the key belonged to an older demo store: move it to this one
        channel.delete()
    return Channel.objects.create(
        merchant_id=getattr(merchant, "pk", merchant),
        kind=ChannelKind.WEBCHAT,
        name="Website chat",
        status=Channel.Status.ACTIVE,
        public_key=DEMO_WEBCHAT_PUBLIC_KEY,
        settings=DEMO_WEBCHAT_SETTINGS,
    )
