from django.urls import path

from integrations.api import views

urlpatterns = [
    path("integrations/platforms", views.ConnectionListView.as_view(), name="integrations-connections"),
    path(
        "integrations/platforms/<uuid:connection_id>",
        views.ConnectionDetailView.as_view(),
        name="integrations-connection-detail",
    ),
    path(
        "integrations/platforms/<uuid:connection_id>/connect",
        views.ConnectionConnectView.as_view(),
        name="integrations-connection-connect",
    ),
    path(
        "integrations/platforms/<uuid:connection_id>/sync",
        views.ConnectionSyncView.as_view(),
        name="integrations-connection-sync",
    ),
    path("integrations/sync-jobs/<uuid:job_id>", views.SyncJobDetailView.as_view(), name="integrations-sync-job"),
    path("integrations/webhooks", views.SubscriptionListView.as_view(), name="integrations-subscriptions"),
    path(
        "integrations/webhooks/<uuid:subscription_id>",
        views.SubscriptionDetailView.as_view(),
        name="integrations-subscription-detail",
    ),
    path(
        "integrations/webhooks/<uuid:subscription_id>/deliveries",
        views.SubscriptionDeliveriesView.as_view(),
        name="integrations-subscription-deliveries",
    ),
    path(
        "integrations/webhooks/<uuid:subscription_id>/replay",
        views.SubscriptionReplayView.as_view(),
        name="integrations-subscription-replay",
    ),
    path(
        "integrations/deliveries/<uuid:delivery_id>", views.DeliveryDetailView.as_view(), name="integrations-delivery"
    ),
]
