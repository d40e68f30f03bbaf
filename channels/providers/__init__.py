"""One module per provider; each exposes the same functions (see base.Provider) so the webhook
view, the processing task and the outbound handler stay provider-neutral."""

from channels.providers.base import Provider


def provider_for(kind: str) -> Provider:
    from channels.providers import meta, telegram, webchat, whatsapp

    return {
        "telegram": telegram.PROVIDER,
        "whatsapp": whatsapp.PROVIDER,
        "messenger": meta.MESSENGER,
        "instagram": meta.INSTAGRAM,
        "webchat": webchat.PROVIDER,
    }[kind]


__all__ = ["Provider", "provider_for"]
