from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from kaleem.core.pagination import StoredCreatedCursorPagination, paginated_response
from kaleem.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from kaleem.tenancy.api import TenantAPIView
from kaleem.tenancy.roles import Role
from merchants import selectors, services
from merchants.api import serializers as s
from merchants.tokens import token_logout, token_pair_issue, token_refresh


def _client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR")


class PublicAuthView(APIView):
    """Unauthenticated auth endpoints that still answer 401 (with a Bearer challenge) on bad tokens."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class RegisterView(PublicAuthView):
    throttle_scope = "auth"
    throttle_classes = [ScopedRateThrottle]

    @extend_schema(request=s.RegisterInput, responses={201: s.RegisterOutput}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = s.RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user, merchant = services.owner_register(
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            store_name=data.validated_data["store_name"],
            language=data.validated_data["language"],
        )
        pair = token_pair_issue(user=user, merchant_id=merchant.pk)
        body = {
            **pair,
            "merchant": s.MerchantOutput(merchant).data,
            "user": {"id": str(user.pk), "email": user.email, "username": user.username},
        }
        return Response(body, status=status.HTTP_201_CREATED)


class TokenObtainView(PublicAuthView):
    throttle_scope = "auth"
    throttle_classes = [ScopedRateThrottle]

    @extend_schema(request=s.LoginInput, responses={200: s.TokenPairOutput}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = s.LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"].lower()
        user = authenticate(request, username=email, password=data.validated_data["password"])
        if user is None:
            raise exceptions.AuthenticationFailed("Email or password is incorrect.", code="invalid_credentials")
        membership = selectors.membership_resolve(user=user, merchant_ref=data.validated_data.get("merchant") or None)
        if data.validated_data.get("merchant") and membership is None:
            raise exceptions.NotFound("Merchant not found.")
        return Response(token_pair_issue(user=user, merchant_id=membership.merchant_id if membership else None))


class TokenRefreshView(PublicAuthView):
    @extend_schema(request=s.RefreshInput, responses={200: s.TokenPairOutput}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = s.RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(token_refresh(raw_refresh=data.validated_data["refresh"]))


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.LogoutInput, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = s.LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not hasattr(request.auth, "payload"):
            raise exceptions.ValidationError({"detail": ["Logout applies to JWT sessions; revoke API tokens instead."]})
        token_logout(access=request.auth, raw_refresh=data.validated_data.get("refresh"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.MeOutput, tags=["auth"])
    def get(self, request: Request) -> Response:
        user = request.user
        memberships = selectors.membership_list(user=user) if getattr(user, "memberships", None) is not None else []
        merchant = getattr(request, "merchant", None)
        return Response(
            {
                "user": {"id": str(user.pk), "email": getattr(user, "email", ""), "username": user.username},
                "memberships": s.MembershipOutput(memberships, many=True).data,
                "current_merchant": s.MerchantOutput(merchant).data if merchant else None,
                "role": getattr(request, "membership_role", None),
            }
        )


class CurrentMerchantView(TenantAPIView):
    read_role = Role.VIEWER
    write_role = Role.ADMIN

    @extend_schema(responses=s.MerchantOutput, tags=["merchant"])
    def get(self, request: Request) -> Response:
        return Response(s.MerchantOutput(self.merchant).data)

    @extend_schema(request=s.MerchantUpdateInput, responses=s.MerchantOutput, tags=["merchant"])
    def patch(self, request: Request) -> Response:
        data = s.MerchantUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        merchant = services.merchant_update(merchant=self.merchant, actor=request.user, data=data.validated_data)
        return Response(s.MerchantOutput(merchant).data)


class TeamMemberListView(TenantAPIView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(responses=s.TeamMemberOutput(many=True), tags=["team"])
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.team_member_list(merchant=self.merchant),
            serializer_class=s.TeamMemberOutput,
        )

    @extend_schema(
        request=s.TeamMemberInput,
        responses={201: s.TeamMemberOutput},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        tags=["team"],
    )
    @idempotent()
    def post(self, request: Request) -> Response:
        data = s.TeamMemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_add(
            merchant=self.merchant, actor=request.user, actor_role=request.membership_role, **data.validated_data
        )
        return Response(s.TeamMemberOutput(membership).data, status=status.HTTP_201_CREATED)


class TeamMemberDetailView(TenantAPIView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(responses=s.TeamMemberOutput, tags=["team"])
    def get(self, request: Request, member_id: str) -> Response:
        membership = selectors.team_member_get(merchant=self.merchant, membership_id=member_id)
        return Response(s.TeamMemberOutput(membership).data)

    @extend_schema(request=s.TeamRoleInput, responses=s.TeamMemberOutput, tags=["team"])
    def patch(self, request: Request, member_id: str) -> Response:
        data = s.TeamRoleInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_change_role(
            merchant=self.merchant,
            actor=request.user,
            actor_role=request.membership_role,
            membership_id=member_id,
            role=data.validated_data["role"],
        )
        return Response(s.TeamMemberOutput(membership).data)

    @extend_schema(responses={204: None}, tags=["team"])
    def delete(self, request: Request, member_id: str) -> Response:
        services.member_remove(
            merchant=self.merchant, actor=request.user, actor_role=request.membership_role, membership_id=member_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenListView(TenantAPIView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(responses=s.ApiTokenOutput(many=True), tags=["tokens"])
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.api_token_list(merchant=self.merchant),
            serializer_class=s.ApiTokenOutput,
        )

    @extend_schema(request=s.ApiTokenInput, responses={201: s.ApiTokenCreatedOutput}, tags=["tokens"])
    def post(self, request: Request) -> Response:
        data = s.ApiTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.api_token_create(merchant=self.merchant, actor=request.user, **data.validated_data)
        token.key = key
        return Response(s.ApiTokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class ApiTokenDetailView(TenantAPIView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(responses=s.ApiTokenOutput, tags=["tokens"])
    def get(self, request: Request, token_id: str) -> Response:
        return Response(s.ApiTokenOutput(selectors.api_token_get(merchant=self.merchant, token_id=token_id)).data)

    @extend_schema(responses={204: None}, tags=["tokens"])
    def delete(self, request: Request, token_id: str) -> Response:
        services.api_token_revoke(merchant=self.merchant, actor=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditLogListView(TenantAPIView):
    read_role = Role.ADMIN

    @extend_schema(responses=s.AuditLogOutput(many=True), tags=["merchant"])
    def get(self, request: Request) -> Response:
        paginator = StoredCreatedCursorPagination()
        page = paginator.paginate_queryset(selectors.audit_log_rows(merchant=self.merchant), request, view=self)
        return paginator.get_paginated_response(s.audit_log_rows_output(page))
