"""Integrations API (thin): platform connections + sync jobs, automation subscriptions + delivery log."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import selectors, services
from integrations.api import serializers as s
from integrations.automations import delivery
from integrations.commerce import sync
from integrations.models import SyncJob
from kaleem.core.pagination import paginated_response
from kaleem.tenancy.api import TenantAPIView
from kaleem.tenancy.roles import Role


class _AdminView(TenantAPIView):
    read_role = Role.ADMIN  # connection details and delivery logs are for store admins
    write_role = Role.ADMIN


class ConnectionListView(_AdminView):
    @extend_schema(responses={200: s.ConnectionOutput(many=True)}, tags=["integrations"])
    def get(self, request: Request) -> Response:
        qs = selectors.connection_list(merchant=self.merchant)
        return paginated_response(view=self, request=request, queryset=qs, serializer_class=s.ConnectionOutput)

    @extend_schema(request=s.ConnectionInput, responses={201: s.ConnectionOutput}, tags=["integrations"])
    def post(self, request: Request) -> Response:
        data = s.ConnectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        connection = services.connection_upsert(merchant=self.merchant, **data.validated_data)
        return Response(s.ConnectionOutput(connection).data, status=status.HTTP_201_CREATED)


class ConnectionDetailView(_AdminView):
    @extend_schema(responses={200: s.ConnectionOutput}, tags=["integrations"])
    def get(self, request: Request, connection_id: str) -> Response:
        connection = selectors.connection_get(merchant=self.merchant, connection_id=connection_id)
        return Response(s.ConnectionOutput(connection).data)

    @extend_schema(responses={204: None}, tags=["integrations"])
    def delete(self, request: Request, connection_id: str) -> Response:
        connection = selectors.connection_get(merchant=self.merchant, connection_id=connection_id)
        services.connection_disconnect(merchant=self.merchant, connection=connection)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectionConnectView(_AdminView):
    @extend_schema(request=None, responses={200: s.ConnectOutput}, tags=["integrations"])
    def post(self, request: Request, connection_id: str) -> Response:
        """Check the credentials with the platform and subscribe our webhook URL to its topics."""
        connection = selectors.connection_get(merchant=self.merchant, connection_id=connection_id)
        return Response(s.ConnectOutput(services.connection_connect(connection=connection)).data)


class ConnectionSyncView(_AdminView):
    @extend_schema(request=None, responses={202: s.SyncJobOutput}, tags=["integrations"])
    def post(self, request: Request, connection_id: str) -> Response:
        """Start an import / reconcile now (the nightly beat does the same)."""
        connection = selectors.connection_get(merchant=self.merchant, connection_id=connection_id)
        kind = SyncJob.Kind.RECONCILE if connection.last_synced_at else SyncJob.Kind.FULL
        job = sync.sync_job_start(connection=connection, kind=kind)
        job.refresh_from_db()
        return Response(s.SyncJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class SyncJobDetailView(_AdminView):
    @extend_schema(responses={200: s.SyncJobOutput}, tags=["integrations"])
    def get(self, request: Request, job_id: str) -> Response:
        return Response(s.SyncJobOutput(selectors.sync_job_get(merchant=self.merchant, job_id=job_id)).data)


class SubscriptionListView(_AdminView):
    @extend_schema(responses={200: s.SubscriptionOutput(many=True)}, tags=["integrations"])
    def get(self, request: Request) -> Response:
        qs = selectors.subscription_list(merchant=self.merchant)
        return paginated_response(view=self, request=request, queryset=qs, serializer_class=s.SubscriptionOutput)

    @extend_schema(request=s.SubscriptionInput, responses={201: s.SubscriptionSecretOutput}, tags=["integrations"])
    def post(self, request: Request) -> Response:
        data = s.SubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = services.subscription_create(merchant=self.merchant, **data.validated_data)
        return Response(s.SubscriptionSecretOutput(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(_AdminView):
    @extend_schema(responses={200: s.SubscriptionOutput}, tags=["integrations"])
    def get(self, request: Request, subscription_id: str) -> Response:
        subscription = selectors.subscription_get(merchant=self.merchant, subscription_id=subscription_id)
        return Response(s.SubscriptionOutput(subscription).data)

    @extend_schema(
        request=s.SubscriptionUpdateInput, responses={200: s.SubscriptionSecretOutput}, tags=["integrations"]
    )
    def patch(self, request: Request, subscription_id: str) -> Response:
        subscription = selectors.subscription_get(merchant=self.merchant, subscription_id=subscription_id)
        data = s.SubscriptionUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        subscription = services.subscription_update(
            merchant=self.merchant, subscription=subscription, data=data.validated_data
        )
        out = s.SubscriptionSecretOutput if data.validated_data.get("rotate_secret") else s.SubscriptionOutput
        return Response(out(subscription).data)

    @extend_schema(responses={204: None}, tags=["integrations"])
    def delete(self, request: Request, subscription_id: str) -> Response:
        subscription = selectors.subscription_get(merchant=self.merchant, subscription_id=subscription_id)
        services.subscription_delete(merchant=self.merchant, subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionDeliveriesView(_AdminView):
    @extend_schema(
        parameters=[OpenApiParameter("state", str), OpenApiParameter("limit", int), OpenApiParameter("cursor", str)],
        responses={200: s.DeliveryOutput(many=True)},
        tags=["integrations"],
    )
    def get(self, request: Request, subscription_id: str) -> Response:
        subscription = selectors.subscription_get(merchant=self.merchant, subscription_id=subscription_id)
        qs = selectors.delivery_list(
            merchant=self.merchant, subscription=subscription, state=request.query_params.get("state", "")[:16]
        )
        return paginated_response(view=self, request=request, queryset=qs, serializer_class=s.DeliveryOutput)


class SubscriptionReplayView(_AdminView):
    @extend_schema(request=s.ReplayInput, responses={200: s.ReplayOutput}, tags=["integrations"])
    def post(self, request: Request, subscription_id: str) -> Response:
        """Dead letters of this subscription (all, or the listed ones) are sent again, in event order."""
        subscription = selectors.subscription_get(merchant=self.merchant, subscription_id=subscription_id)
        data = s.ReplayInput(data=request.data)
        data.is_valid(raise_exception=True)
        count = delivery.deliveries_replay(
            merchant=self.merchant, subscription=subscription, delivery_ids=data.validated_data.get("delivery_ids")
        )
        return Response({"replayed": count})


class DeliveryDetailView(_AdminView):
    @extend_schema(responses={200: s.DeliveryOutput}, tags=["integrations"])
    def get(self, request: Request, delivery_id: str) -> Response:
        return Response(s.DeliveryOutput(selectors.delivery_get(merchant=self.merchant, delivery_id=delivery_id)).data)
