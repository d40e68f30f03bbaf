"""Public, non-API routes of the channels app (webhooks, webchat public API, demo storefront)."""

from django.urls import include, path

from channels import views

urlpatterns: list = [
    path("webhooks/<str:kind>/<str:public_key>", views.webhook, name="channel-webhook"),
    path("", include("channels.webchat.urls")),  # /api/webchat/v1/… and /demo/<slug>/
]
