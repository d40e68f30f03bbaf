from django.urls import path

from integrations import views

urlpatterns = [
    path("webhooks/platforms/<str:platform>/<str:key>", views.platform_webhook, name="platform-webhook"),
]
