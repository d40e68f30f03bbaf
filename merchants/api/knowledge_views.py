"""Store knowledge API: policies, FAQs and documents (CRUD). Writes need the admin role; every change
re-indexes through the outbox (`knowledge.changed`)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from kaleem.core.errors import NotFoundError
from kaleem.core.pagination import CreatedCursorPagination
from kaleem.tenancy.api import TenantAPIView
from kaleem.tenancy.roles import Role
from merchants.api import knowledge_serializers as s
from merchants.knowledge import selectors, services
from merchants.knowledge.models import Faq, KnowledgeDocument, Policy


class _KnowledgeView(TenantAPIView):
    read_role = Role.VIEWER
    write_role = Role.ADMIN

    def _page(self, request: Request, qs, serializer) -> Response:  # noqa: ANN001
        paginator = CreatedCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(serializer(page, many=True).data)

    def _get(self, model, object_id: str, label: str):  # noqa: ANN001, ANN202
        obj = model.objects.for_merchant(self.merchant).filter(id=object_id).first()
        if obj is None:
            raise NotFoundError(f"{label} not found.")
        return obj


class PolicyListView(_KnowledgeView):
    @extend_schema(responses=s.PolicyOutput(many=True), tags=["knowledge"])
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("kind") or None
        language = request.query_params.get("language") or None
        return self._page(
            request, selectors.policy_list(merchant=self.merchant, kind=kind, language=language), s.PolicyOutput
        )

    @extend_schema(request=s.PolicyInput, responses={201: s.PolicyOutput}, tags=["knowledge"])
    def post(self, request: Request) -> Response:
        data = s.PolicyInput(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.policy_create(merchant=self.merchant, actor=request.user, **data.validated_data)
        return Response(s.PolicyOutput(policy).data, status=status.HTTP_201_CREATED)


class PolicyDetailView(_KnowledgeView):
    @extend_schema(responses=s.PolicyOutput, tags=["knowledge"])
    def get(self, request: Request, policy_id: str) -> Response:
        return Response(s.PolicyOutput(self._get(Policy, policy_id, "Policy")).data)

    @extend_schema(request=s.PolicyInput, responses=s.PolicyOutput, tags=["knowledge"])
    def patch(self, request: Request, policy_id: str) -> Response:
        self._get(Policy, policy_id, "Policy")
        data = s.PolicyInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        policy = services.policy_update(
            merchant=self.merchant, actor=request.user, policy_id=policy_id, data=data.validated_data
        )
        return Response(s.PolicyOutput(policy).data)

    put = patch

    @extend_schema(responses={204: None}, tags=["knowledge"])
    def delete(self, request: Request, policy_id: str) -> Response:
        services.policy_delete(merchant=self.merchant, actor=request.user, policy_id=policy_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FaqListView(_KnowledgeView):
    @extend_schema(responses=s.FaqOutput(many=True), tags=["knowledge"])
    def get(self, request: Request) -> Response:
        language = request.query_params.get("language") or None
        return self._page(request, selectors.faq_list(merchant=self.merchant, language=language), s.FaqOutput)

    @extend_schema(request=s.FaqInput, responses={201: s.FaqOutput}, tags=["knowledge"])
    def post(self, request: Request) -> Response:
        data = s.FaqInput(data=request.data)
        data.is_valid(raise_exception=True)
        faq = services.faq_create(merchant=self.merchant, actor=request.user, **data.validated_data)
        return Response(s.FaqOutput(faq).data, status=status.HTTP_201_CREATED)


class FaqDetailView(_KnowledgeView):
    @extend_schema(responses=s.FaqOutput, tags=["knowledge"])
    def get(self, request: Request, faq_id: str) -> Response:
        return Response(s.FaqOutput(self._get(Faq, faq_id, "FAQ")).data)

    @extend_schema(request=s.FaqInput, responses=s.FaqOutput, tags=["knowledge"])
    def patch(self, request: Request, faq_id: str) -> Response:
        self._get(Faq, faq_id, "FAQ")
        data = s.FaqInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        faq = services.faq_update(merchant=self.merchant, actor=request.user, faq_id=faq_id, data=data.validated_data)
        return Response(s.FaqOutput(faq).data)

    put = patch

    @extend_schema(responses={204: None}, tags=["knowledge"])
    def delete(self, request: Request, faq_id: str) -> Response:
        services.faq_delete(merchant=self.merchant, actor=request.user, faq_id=faq_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentListView(_KnowledgeView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=s.DocumentOutput(many=True), tags=["knowledge"])
    def get(self, request: Request) -> Response:
        return self._page(request, selectors.document_list(merchant=self.merchant), s.DocumentOutput)

    @extend_schema(
        request={"multipart/form-data": s.DocumentUploadInput}, responses={201: s.DocumentOutput}, tags=["knowledge"]
    )
    def post(self, request: Request) -> Response:
        data = s.DocumentUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        document = services.document_upload(
            merchant=self.merchant,
            actor=request.user,
            filename=upload.name or "document",
            data=upload.read(services.max_document_bytes() + 1),
            title=data.validated_data.get("title", ""),
            language=data.validated_data.get("language", ""),
        )
        document.refresh_from_db()
        return Response(s.DocumentOutput(document).data, status=status.HTTP_201_CREATED)


class DocumentDetailView(_KnowledgeView):
    @extend_schema(responses=s.DocumentOutput, tags=["knowledge"])
    def get(self, request: Request, document_id: str) -> Response:
        return Response(s.DocumentOutput(self._get(KnowledgeDocument, document_id, "Document")).data)

    @extend_schema(request=s.DocumentUpdateInput, responses=s.DocumentOutput, tags=["knowledge"])
    def patch(self, request: Request, document_id: str) -> Response:
        self._get(KnowledgeDocument, document_id, "Document")
        data = s.DocumentUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        document = services.document_update(
            merchant=self.merchant, actor=request.user, document_id=document_id, data=data.validated_data
        )
        return Response(s.DocumentOutput(document).data)

    @extend_schema(responses={204: None}, tags=["knowledge"])
    def delete(self, request: Request, document_id: str) -> Response:
        services.document_delete(merchant=self.merchant, actor=request.user, document_id=document_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
