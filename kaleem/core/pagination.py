from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from kaleem.core.stored import aware_datetime


class CreatedCursorPagination(CursorPagination):
    """Stable cursor over (created_at, id) so pages never skip or repeat rows under writes."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class StoredCreatedCursorPagination(CreatedCursorPagination):
    """For dict rows that carry `created_at` as stored (`stored_created_at`, see kaleem.core.stored)."""

    def _get_position_from_instance(self, instance: Any, ordering: Any) -> str:
        return str(aware_datetime(instance["stored_created_at"]))


def paginated_response(*, view: Any, request: Request, queryset: QuerySet, serializer_class: type) -> Response:
    """One cursor page of `queryset` rendered by `serializer_class`: {"next", "previous", "results"}."""
    paginator = CreatedCursorPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
