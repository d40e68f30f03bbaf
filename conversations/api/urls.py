from django.urls import path

from conversations.api import views

urlpatterns = [
    path("conversations", views.ConversationListView.as_view(), name="conversation-list"),
    path("conversations/<uuid:conversation_id>", views.ConversationDetailView.as_view(), name="conversation-detail"),
    path(
        "conversations/<uuid:conversation_id>/messages",
        views.ConversationMessagesView.as_view(),
        name="conversation-messages",
    ),
    path("conversations/<uuid:conversation_id>/take-over", views.TakeOverView.as_view(), name="conversation-take-over"),
    path("conversations/<uuid:conversation_id>/release", views.ReleaseView.as_view(), name="conversation-release"),
    path("conversations/<uuid:conversation_id>/assign", views.AssignView.as_view(), name="conversation-assign"),
    path("conversations/<uuid:conversation_id>/close", views.CloseView.as_view(), name="conversation-close"),
    path("conversations/<uuid:conversation_id>/note", views.NoteView.as_view(), name="conversation-note"),
    path("leads", views.LeadListView.as_view(), name="lead-list"),
    path("leads/<uuid:lead_id>", views.LeadDetailView.as_view(), name="lead-detail"),
    path("assistant/simulate", views.SimulateView.as_view(), name="assistant-simulate"),
    path("analytics/answer-gaps", views.AnswerGapsView.as_view(), name="analytics-answer-gaps"),
]
