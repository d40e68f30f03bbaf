"""Dashboard routes of the conversations area, mounted under /dashboard/ by kaleem/urls.py."""

from django.urls import path

from conversations import dashboard_views as views

urlpatterns = [
    path("inbox/", views.InboxView.as_view(), name="dashboard-inbox"),
    path("inbox/list/", views.InboxListPartial.as_view(), name="dashboard-inbox-list"),
    path("inbox/events/", views.InboxEventsView.as_view(), name="dashboard-inbox-events"),
    path("inbox/<str:pk>/", views.ThreadView.as_view(), name="dashboard-inbox-thread"),
    path("inbox/<str:pk>/thread/", views.ThreadPartial.as_view(), name="dashboard-inbox-thread-partial"),
    path("inbox/<str:pk>/<slug:action>/", views.ThreadActionView.as_view(), name="dashboard-inbox-action"),
    path("analytics/", views.AnalyticsView.as_view(), name="dashboard-analytics"),
]
