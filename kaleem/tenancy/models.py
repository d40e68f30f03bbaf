"""TenantModel: every tenant-owned row carries its merchant and is queried through it."""

import uuid
from typing import Any

from django.db import models


class TenantQuerySet(models.QuerySet):
    def for_merchant(self, merchant: Any) -> "TenantQuerySet":
        if merchant is None:
            return self.none()
        merchant_id = getattr(merchant, "pk", merchant)
        return self.filter(merchant_id=merchant_id)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    pass


class TenantModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()

    class Meta:
        abstract = True
