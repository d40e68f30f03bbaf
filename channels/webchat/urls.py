from django.urls import path

from channels.webchat import demo, views

urlpatterns = [
    path("api/webchat/v1/<str:public_key>/config", views.ConfigView.as_view(), name="webchat-config"),
    path("api/webchat/v1/<str:public_key>/conversations", views.ConversationStartView.as_view(), name="webchat-start"),
    path("api/webchat/v1/<str:public_key>/messages", views.MessagesView.as_view(), name="webchat-messages"),
    path("api/webchat/v1/<str:public_key>/identify", views.IdentifyView.as_view(), name="webchat-identify"),
    path("api/webchat/v1/<str:public_key>/stream", views.stream_view, name="webchat-stream"),
    path("demo/<slug:slug>/", demo.storefront, name="demo-storefront"),
]
