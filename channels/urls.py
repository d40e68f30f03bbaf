"""Public, non-API routes of the channels app (webhooks, webchat public API, demo storefront)."""

urlpatterns: list = []
