from django.urls import path

from channels.api import views

urlpatterns: list = [
    path("channels", views.ChannelListView.as_view(), name="channels"),
    path("channels/<uuid:channel_id>", views.ChannelDetailView.as_view(), name="channel-detail"),
    path("channels/<uuid:channel_id>/connect", views.ChannelConnectView.as_view(), name="channel-connect"),
    path("channels/<uuid:channel_id>/dead-letters", views.DeadLetterListView.as_view(), name="channel-dead-letters"),
    path("channels/<uuid:channel_id>/templates", views.TemplateListView.as_view(), name="channel-templates"),
    path("channels/<uuid:channel_id>/templates/sync", views.TemplateSyncView.as_view(), name="channel-templates-sync"),
    path("channels/<uuid:channel_id>/templates/send", views.TemplateSendView.as_view(), name="channel-templates-send"),
    path("dead-letters/<uuid:dead_letter_id>/replay", views.DeadLetterReplayView.as_view(), name="dead-letter-replay"),
    path(
        "dead-letters/<uuid:dead_letter_id>/discard", views.DeadLetterDiscardView.as_view(), name="dead-letter-discard"
    ),
]
