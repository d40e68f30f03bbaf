"""Base classes that scope every API view to the request's merchant at dispatch."""

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import generics, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from kaleem.tenancy.permissions import HasMerchantRole
from kaleem.tenancy.roles import Role


class TenantAPIView(APIView):
    """An API view acting for `request.merchant`; other merchants' objects are simply not found (404)."""

    permission_classes = [IsAuthenticated, HasMerchantRole]
    read_role = Role.VIEWER
    write_role = Role.ADMIN

    @property
    def merchant(self) -> Any:
        return self.request.merchant


class TenantQuerysetMixin:
    """For generic views: `model` (or `queryset`) is always filtered by the current merchant."""

    model: type[Model] | None = None

    def get_queryset(self) -> QuerySet:
        base = self.queryset if getattr(self, "queryset", None) is not None else self.model._default_manager.all()
        return base.all().filter(merchant_id=self.request.merchant.pk)


class TenantGenericAPIView(TenantQuerysetMixin, TenantAPIView, generics.GenericAPIView):
    pass


class TenantModelViewSet(TenantQuerysetMixin, TenantAPIView, viewsets.ModelViewSet):
    """Plain CRUD only; flows with business rules use TenantAPIView + services."""

    def perform_create(self, serializer: Any) -> None:
        serializer.save(merchant=self.request.merchant)


class TenantReadOnlyViewSet(TenantQuerysetMixin, TenantAPIView, viewsets.ReadOnlyModelViewSet):
    pass
