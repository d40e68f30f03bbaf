"""Inbox API for agents, the assistant simulator and answer-gap analytics. Thin: parse, call, shape."""

import secrets
from typing import Any

from django.core.cache import cache
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from conversations import selectors, services
from conversations.api import serializers as s
from kaleem.idempotency import idempotent
from kaleem.tenancy.api import TenantAPIView
from kaleem.tenancy.roles import Role, role_at_least

SIMULATOR_TTL = 3600


class ActivityPagination(CursorPagination):
    ordering = ("-last_activity_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class ThreadPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


def _context(request: Request) -> dict[str, Any]:
    return {"can_see_pii": role_at_least(getattr(request, "membership_role", None), Role.AGENT)}


class ConversationListView(TenantAPIView):
    read_role = Role.VIEWER

    @extend_schema(parameters=[s.ConversationFilterInput], responses=s.ConversationOutput(many=True), tags=["inbox"])
    def get(self, request: Request) -> Response:
        params = s.ConversationFilterInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        assigned = data.get("assigned_to")
        if assigned == "me":
            assigned = request.user.pk
        qs = selectors.conversation_list(
            merchant=self.merchant,
            status=data.get("status"),
            channel_id=data.get("channel"),
            assigned_to=assigned if assigned not in (None, "") else None,
            unassigned=data.get("unassigned", False),
        )
        paginator = ActivityPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.ConversationOutput(page, many=True, context=_context(request)).data)


class ConversationDetailView(TenantAPIView):
    read_role = Role.VIEWER

    @extend_schema(responses=s.ConversationOutput, tags=["inbox"])
    def get(self, request: Request, conversation_id: str) -> Response:
        conversation = selectors.conversation_get(merchant=self.merchant, conversation_id=conversation_id)
        return Response(s.ConversationOutput(conversation, context=_context(request)).data)


class ConversationMessagesView(TenantAPIView):
    read_role = Role.VIEWER
    write_role = Role.AGENT

    @extend_schema(responses=s.MessageOutput(many=True), tags=["inbox"])
    def get(self, request: Request, conversation_id: str) -> Response:
        qs = selectors.message_list(merchant=self.merchant, conversation_id=conversation_id)
        paginator = ThreadPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        if role_at_least(getattr(request, "membership_role", None), Role.AGENT):
            services.conversation_mark_read(merchant=self.merchant, conversation_id=conversation_id)
        return paginator.get_paginated_response(s.MessageOutput(page, many=True).data)

    @extend_schema(request=s.AgentReplyInput, responses={201: s.MessageOutput}, tags=["inbox"])
    @idempotent()
    def post(self, request: Request, conversation_id: str) -> Response:
        data = s.AgentReplyInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.agent_reply_send(
            merchant=self.merchant,
            actor=request.user,
            conversation_id=conversation_id,
            text=data.validated_data["text"],
        )
        return Response(s.MessageOutput(message).data, status=status.HTTP_201_CREATED)


class _ConversationAction(TenantAPIView):
    write_role = Role.AGENT
    action_name = ""

    def act(self, request: Request, conversation_id: str) -> Any:
        raise NotImplementedError

    @extend_schema(request=None, responses=s.ConversationOutput, tags=["inbox"])
    def post(self, request: Request, conversation_id: str) -> Response:
        result = self.act(request, conversation_id)
        return Response(s.ConversationOutput(result, context=_context(request)).data)


class TakeOverView(_ConversationAction):
    def act(self, request: Request, conversation_id: str) -> Any:
        return services.conversation_take_over(
            merchant=self.merchant, actor=request.user, conversation_id=conversation_id
        )


class ReleaseView(_ConversationAction):
    def act(self, request: Request, conversation_id: str) -> Any:
        return services.conversation_release(
            merchant=self.merchant, actor=request.user, conversation_id=conversation_id
        )


class CloseView(_ConversationAction):
    def act(self, request: Request, conversation_id: str) -> Any:
        return services.conversation_close(merchant=self.merchant, actor=request.user, conversation_id=conversation_id)


class AssignView(_ConversationAction):
    @extend_schema(request=s.AssignInput, responses=s.ConversationOutput, tags=["inbox"])
    def post(self, request: Request, conversation_id: str) -> Response:
        return super().post(request, conversation_id)

    def act(self, request: Request, conversation_id: str) -> Any:
        data = s.AssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        return services.conversation_assign(
            merchant=self.merchant,
            actor=request.user,
            conversation_id=conversation_id,
            assignee_id=data.validated_data["assignee_id"],
        )


class NoteView(TenantAPIView):
    write_role = Role.AGENT

    @extend_schema(request=s.NoteInput, responses={201: s.MessageOutput}, tags=["inbox"])
    def post(self, request: Request, conversation_id: str) -> Response:
        data = s.NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.conversation_note_add(
            merchant=self.merchant,
            actor=request.user,
            conversation_id=conversation_id,
            text=data.validated_data["text"],
        )
        return Response(s.MessageOutput(note).data, status=status.HTTP_201_CREATED)


class SimulateView(TenantAPIView):
    """The merchant's "test your assistant": the reply a channel would get, plus diagnostics."""

    write_role = Role.AGENT

    @extend_schema(request=s.SimulateInput, responses=s.SimulateOutput, tags=["assistant"])
    def post(self, request: Request) -> Response:
        from conversations.assistant.pipeline import run_turn

        data = s.SimulateInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = data.validated_data.get("session") or secrets.token_urlsafe(12)
        key = f"assistant:simulate:{self.merchant.pk}:{session}"
        state = cache.get(key) or {}
        result = run_turn(merchant=self.merchant, text=data.validated_data["text"], state=state)
        cache.set(key, result.state, SIMULATOR_TTL)
        return Response(
            {
                "session": session,
                "reply": result.reply.as_dict(),
                "intent": result.intent,
                "confidence": result.confidence,
                "handoff": result.handoff,
                "evidence": result.evidence,
                "latency_ms": result.latency_ms,
            }
        )


class AnswerGapsView(TenantAPIView):
    read_role = Role.VIEWER

    @extend_schema(parameters=[s.AnswerGapsInput], responses=s.AnswerGapsOutput, tags=["analytics"])
    def get(self, request: Request) -> Response:
        params = s.AnswerGapsInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        groups = selectors.answer_gap_groups(merchant=self.merchant, **params.validated_data)
        return Response({"results": groups, "kpis": selectors.assistant_kpis(merchant=self.merchant)})


class LeadListView(TenantAPIView):
    read_role = Role.VIEWER

    @extend_schema(parameters=[s.LeadFilterInput], responses=s.LeadOutput(many=True), tags=["leads"])
    def get(self, request: Request) -> Response:
        params = s.LeadFilterInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        qs = selectors.lead_list(
            merchant=self.merchant,
            status=params.validated_data.get("status"),
            conversation_id=params.validated_data.get("conversation_id"),
        )
        paginator = ThreadPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.LeadOutput(page, many=True, context=_context(request)).data)


class LeadDetailView(TenantAPIView):
    read_role = Role.VIEWER
    write_role = Role.AGENT

    @extend_schema(responses=s.LeadOutput, tags=["leads"])
    def get(self, request: Request, lead_id: str) -> Response:
        lead = selectors.lead_get(merchant=self.merchant, lead_id=lead_id)
        return Response(s.LeadOutput(lead, context=_context(request)).data)

    @extend_schema(request=s.LeadUpdateInput, responses=s.LeadOutput, tags=["leads"])
    def patch(self, request: Request, lead_id: str) -> Response:
        lead = selectors.lead_get(merchant=self.merchant, lead_id=lead_id)
        data = s.LeadUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        lead = services.lead_set_status(
            merchant=self.merchant, actor=request.user, lead=lead, status=data.validated_data["status"]
        )
        return Response(s.LeadOutput(lead, context=_context(request)).data)
