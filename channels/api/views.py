"""Channel management API (tenant-scoped): admins manage channels, agents read them and their dead letters."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from channels import selectors, services
from channels.api import serializers as s
from kaleem.core.pagination import paginated_response
from kaleem.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from kaleem.tenancy.api import TenantAPIView
from kaleem.tenancy.roles import Role


def _public_base_url(request: Request) -> str:
    return getattr(settings, "PUBLIC_BASE_URL", "") or request.build_absolute_uri("/").rstrip("/")


class ChannelListView(TenantAPIView):
    read_role = Role.AGENT
    write_role = Role.ADMIN

    @extend_schema(responses=s.ChannelOutput(many=True), tags=["channels"])
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.channel_list(merchant=self.merchant),
            serializer_class=s.ChannelOutput,
        )

    @extend_schema(
        request=s.ChannelCreateInput,
        responses={201: s.ChannelOutput},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        tags=["channels"],
    )
    @idempotent()
    def post(self, request: Request) -> Response:
        data = s.ChannelCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        channel = services.channel_create(merchant=self.merchant, **data.validated_data)
        return Response(s.ChannelOutput(channel).data, status=status.HTTP_201_CREATED)


class ChannelDetailView(TenantAPIView):
    read_role = Role.AGENT
    write_role = Role.ADMIN

    @extend_schema(responses=s.ChannelOutput, tags=["channels"])
    def get(self, request: Request, channel_id: str) -> Response:
        return Response(s.ChannelOutput(selectors.channel_get(merchant=self.merchant, channel_id=channel_id)).data)

    @extend_schema(request=s.ChannelUpdateInput, responses=s.ChannelOutput, tags=["channels"])
    def patch(self, request: Request, channel_id: str) -> Response:
        channel = selectors.channel_get(merchant=self.merchant, channel_id=channel_id)
        data = s.ChannelUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        channel = services.channel_update(channel=channel, **data.validated_data)
        return Response(s.ChannelOutput(channel).data)

    @extend_schema(responses={204: None}, tags=["channels"])
    def delete(self, request: Request, channel_id: str) -> Response:
        selectors.channel_get(merchant=self.merchant, channel_id=channel_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChannelConnectView(TenantAPIView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(request=None, responses={200: dict}, tags=["channels"])
    def post(self, request: Request, channel_id: str) -> Response:
        channel = selectors.channel_get(merchant=self.merchant, channel_id=channel_id)
        return Response(services.channel_connect(channel=channel, base_url=_public_base_url(request)))


class DeadLetterListView(TenantAPIView):
    read_role = Role.AGENT

    @extend_schema(responses=s.DeadLetterOutput(many=True), tags=["channels"])
    def get(self, request: Request, channel_id: str) -> Response:
        channel = selectors.channel_get(merchant=self.merchant, channel_id=channel_id)
        qs = selectors.dead_letter_list(
            merchant=self.merchant, channel=channel, state=request.query_params.get("state")
        )
        return paginated_response(view=self, request=request, queryset=qs, serializer_class=s.DeadLetterOutput)


class DeadLetterReplayView(TenantAPIView):
    write_role = Role.ADMIN

    @extend_schema(request=None, responses=s.DeadLetterOutput, tags=["channels"])
    def post(self, request: Request, dead_letter_id: str) -> Response:
        dead = services.dead_letter_replay(merchant=self.merchant, dead_letter_id=dead_letter_id)
        return Response(s.DeadLetterOutput(dead).data)


class DeadLetterDiscardView(TenantAPIView):
    write_role = Role.ADMIN

    @extend_schema(request=None, responses=s.DeadLetterOutput, tags=["channels"])
    def post(self, request: Request, dead_letter_id: str) -> Response:
        dead = services.dead_letter_discard(merchant=self.merchant, dead_letter_id=dead_letter_id)
        return Response(s.DeadLetterOutput(dead).data)


class TemplateListView(TenantAPIView):
    read_role = Role.AGENT

    @extend_schema(responses=s.TemplateOutput(many=True), tags=["channels"])
    def get(self, request: Request, channel_id: str) -> Response:
        channel = selectors.channel_get(merchant=self.merchant, channel_id=channel_id)
        templates = selectors.template_list(merchant=self.merchant, channel=channel)
        return Response({"results": s.TemplateOutput(templates, many=True).data})


class TemplateSyncView(TenantAPIView):
    write_role = Role.ADMIN

    @extend_schema(request=None, responses={200: dict}, tags=["channels"])
    def post(self, request: Request, channel_id: str) -> Response:
        channel = selectors.channel_get(merchant=self.merchant, channel_id=channel_id)
        count = services.templates_sync(channel=channel)
        return Response({"synced": count})


class TemplateSendView(TenantAPIView):
    # agents send templates (order updates, re-opening a conversation outside the 24-hour window)
    write_role = Role.AGENT

    @extend_schema(
        request=s.TemplateSendInput, responses={200: dict}, parameters=[IDEMPOTENCY_KEY_PARAMETER], tags=["channels"]
    )
    @idempotent()
    def post(self, request: Request, channel_id: str) -> Response:
        channel = selectors.channel_get(merchant=self.merchant, channel_id=channel_id)
        data = s.TemplateSendInput(data=request.data)
        data.is_valid(raise_exception=True)
        provider_id = services.template_send(
            merchant=self.merchant,
            channel=channel,
            template_id=data.validated_data["template_id"],
            to=data.validated_data["to"],
            parameters=data.validated_data["parameters"],
        )
        return Response({"provider_message_id": provider_id})
