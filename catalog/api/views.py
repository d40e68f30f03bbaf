"""Catalog API: thin views that parse input, call one service/selector and shape the output."""

import csv
from collections.abc import Iterator
from functools import partial
from typing import Any

from django.db.models import prefetch_related_objects
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import imports, selectors, services
from catalog.api import serializers as s
from catalog.filtersets import ProductFilterSet
from catalog.models import ImportJob, Synonym
from kaleem.core.errors import NotFoundError
from kaleem.core.pagination import paginated_response
from kaleem.tenancy.api import TenantAPIView


def _category_or_404(merchant: Any, category_id: Any) -> Any:
    if category_id is None:
        return None
    return selectors.category_get(merchant=merchant, category_id=category_id)


class CategoryListView(TenantAPIView):
    @extend_schema(responses={200: s.CategoryOutput(many=True)}, tags=["catalog"])
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.category_list(merchant=self.merchant),
            serializer_class=s.CategoryOutput,
        )

    @extend_schema(request=s.CategoryInput, responses={201: s.CategoryOutput}, tags=["catalog"])
    def post(self, request: Request) -> Response:
        data = s.CategoryInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        parent = _category_or_404(self.merchant, values.pop("parent", None))
        category = services.category_create(merchant=self.merchant, parent=parent, **values)
        return Response(s.CategoryOutput(category).data, status=status.HTTP_201_CREATED)


class CategoryDetailView(TenantAPIView):
    @extend_schema(responses={200: s.CategoryOutput}, tags=["catalog"])
    def get(self, request: Request, category_id: str) -> Response:
        return Response(s.CategoryOutput(selectors.category_get(merchant=self.merchant, category_id=category_id)).data)

    @extend_schema(request=s.CategoryInput, responses={200: s.CategoryOutput}, tags=["catalog"])
    def patch(self, request: Request, category_id: str) -> Response:
        category = selectors.category_get(merchant=self.merchant, category_id=category_id)
        data = s.CategoryInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "parent" in values:
            values["parent"] = _category_or_404(self.merchant, values["parent"])
        category = services.category_update(merchant=self.merchant, category=category, data=values)
        return Response(s.CategoryOutput(category).data)

    @extend_schema(responses={204: None}, tags=["catalog"])
    def delete(self, request: Request, category_id: str) -> Response:
        category = selectors.category_get(merchant=self.merchant, category_id=category_id)
        services.category_delete(merchant=self.merchant, category=category)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _product_out(request: Request, product: Any) -> dict:
    return s.ProductOutput(product, context={"request": request}).data


def _hits_out(request: Request, items: list) -> list[dict]:
    prefetch_related_objects([p for p, _ in items], "uploaded_images")  # one query, not one per hit
    context = {"request": request}
    return [{"score": score, "product": s.ProductOutput(p, context=context).data} for p, score in items]


def _product_values(merchant: Any, validated: dict) -> dict:
    values = dict(validated)
    if "category" in values:
        values["category"] = _category_or_404(merchant, values["category"])
    if values.get("external_id") == "":
        values["external_id"] = None
    return values


class ProductListView(TenantAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("category", str),
            OpenApiParameter("price_min", float),
            OpenApiParameter("price_max", float),
            OpenApiParameter("status", str),
            OpenApiParameter("in_stock", bool),
            OpenApiParameter("tag", str),
            OpenApiParameter("limit", int),
            OpenApiParameter("cursor", str),
        ],
        responses={200: s.ProductOutput(many=True)},
        tags=["catalog"],
    )
    def get(self, request: Request) -> Response:
        filterset = ProductFilterSet(
            request.query_params, queryset=selectors.product_list(merchant=self.merchant), request=request
        )
        if not filterset.is_valid():
            from rest_framework.exceptions import ValidationError

            raise ValidationError(filterset.errors)
        return paginated_response(
            view=self,
            request=request,
            queryset=filterset.qs.prefetch_related("uploaded_images"),
            serializer_class=partial(s.ProductOutput, context={"request": request}),
        )

    @extend_schema(request=s.ProductInput, responses={201: s.ProductOutput}, tags=["catalog"])
    def post(self, request: Request) -> Response:
        data = s.ProductInput(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(
            merchant=self.merchant, data=_product_values(self.merchant, data.validated_data)
        )
        return Response(_product_out(request, product), status=status.HTTP_201_CREATED)


class ProductDetailView(TenantAPIView):
    @extend_schema(responses={200: s.ProductOutput}, tags=["catalog"])
    def get(self, request: Request, product_id: str) -> Response:
        return Response(_product_out(request, selectors.product_get(merchant=self.merchant, product_id=product_id)))

    @extend_schema(request=s.ProductInput, responses={200: s.ProductOutput}, tags=["catalog"])
    def patch(self, request: Request, product_id: str) -> Response:
        product = selectors.product_get(merchant=self.merchant, product_id=product_id)
        data = s.ProductInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        product = services.product_update(
            merchant=self.merchant, product=product, data=_product_values(self.merchant, data.validated_data)
        )
        return Response(_product_out(request, product))

    @extend_schema(responses={204: None}, tags=["catalog"])
    def delete(self, request: Request, product_id: str) -> Response:
        product = selectors.product_get(merchant=self.merchant, product_id=product_id)
        services.product_delete(merchant=self.merchant, product=product)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductArchiveView(TenantAPIView):
    @extend_schema(request=None, responses={200: s.ProductOutput}, tags=["catalog"])
    def post(self, request: Request, product_id: str) -> Response:
        product = selectors.product_get(merchant=self.merchant, product_id=product_id)
        return Response(_product_out(request, services.product_archive(merchant=self.merchant, product=product)))


class ProductSimilarView(TenantAPIView):
    @extend_schema(parameters=[s.SimilarQuery], responses={200: s.SearchHitOutput(many=True)}, tags=["catalog"])
    def get(self, request: Request, product_id: str) -> Response:
        query = s.SimilarQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        items = selectors.product_similar(
            merchant=self.merchant, product_id=product_id, limit=query.validated_data["limit"]
        )
        return Response({"results": _hits_out(request, items)})


class SearchView(TenantAPIView):
    @extend_schema(parameters=[s.SearchQuery], responses={200: s.SearchHitOutput(many=True)}, tags=["catalog"])
    def get(self, request: Request) -> Response:
        query = s.SearchQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = dict(query.validated_data)
        text, limit = params.pop("q", ""), params.pop("limit")
        filters = {k: v for k, v in params.items() if v is not None}
        result = selectors.product_search(merchant=self.merchant, query=text, filters=filters, limit=limit)
        return Response(
            {
                "query": result.query,
                "search_text": result.search_text,
                "mode": result.mode,
                "truncated": result.truncated,
                "applied_filters": result.applied_filters,
                "relaxed_filters": result.relaxed_filters,
                "results": _hits_out(request, result.items),
            }
        )


class ProductImageListView(TenantAPIView):
    """Image files of a product: multipart upload (validated by content), list."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: s.ProductImageOutput(many=True)}, tags=["catalog"])
    def get(self, request: Request, product_id: str) -> Response:
        product = selectors.product_get(merchant=self.merchant, product_id=product_id)
        images = selectors.product_images(merchant=self.merchant, product=product)
        return Response({"results": s.ProductImageOutput(images, many=True, context={"request": request}).data})

    @extend_schema(
        request={"multipart/form-data": s.ProductImageInput}, responses={201: s.ProductImageOutput}, tags=["catalog"]
    )
    def post(self, request: Request, product_id: str) -> Response:
        product = selectors.product_get(merchant=self.merchant, product_id=product_id)
        data = s.ProductImageInput(data=request.data)
        data.is_valid(raise_exception=True)
        image = services.product_image_add(merchant=self.merchant, product=product, upload=data.validated_data["file"])
        return Response(s.ProductImageOutput(image, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ProductImageDetailView(TenantAPIView):
    @extend_schema(responses={204: None}, tags=["catalog"])
    def delete(self, request: Request, product_id: str, image_id: str) -> Response:
        product = selectors.product_get(merchant=self.merchant, product_id=product_id)
        services.product_image_delete(merchant=self.merchant, product=product, image_id=image_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImportListView(TenantAPIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses={200: s.ImportJobOutput(many=True)}, tags=["catalog"])
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=ImportJob.objects.for_merchant(self.merchant),
            serializer_class=s.ImportJobOutput,
        )

    @extend_schema(request={"multipart/form-data": s.ImportInput}, responses={202: s.ImportJobOutput}, tags=["catalog"])
    def post(self, request: Request) -> Response:
        data = s.ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        job = imports.import_job_create(
            merchant=self.merchant,
            upload=upload,
            filename=upload.name,
            fmt=data.validated_data.get("format"),
            user=request.user if request.user.is_authenticated else None,
        )
        return Response(s.ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailView(TenantAPIView):
    @extend_schema(responses={200: s.ImportJobOutput}, tags=["catalog"])
    def get(self, request: Request, job_id: str) -> Response:
        return Response(s.ImportJobOutput(selectors.import_job_get(merchant=self.merchant, job_id=job_id)).data)


class _Echo:
    def write(self, value: str) -> str:
        return value


class ExportView(TenantAPIView):
    @extend_schema(responses={(200, "text/csv"): bytes}, tags=["catalog"])
    def get(self, request: Request) -> StreamingHttpResponse:
        rows = imports.export_rows(merchant=self.merchant)
        writer = csv.writer(_Echo())

        def stream() -> Iterator[str]:
            yield "\ufeff"  # BOM so Excel opens Arabic text as UTF-8
            for row in rows:
                yield writer.writerow(row)

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="products.csv"'
        return response


class SynonymListView(TenantAPIView):
    @extend_schema(responses={200: s.SynonymOutput(many=True)}, tags=["catalog"])
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=Synonym.objects.for_merchant(self.merchant),
            serializer_class=s.SynonymOutput,
        )

    @extend_schema(request=s.SynonymInput, responses={201: s.SynonymOutput}, tags=["catalog"])
    def post(self, request: Request) -> Response:
        data = s.SynonymInput(data=request.data)
        data.is_valid(raise_exception=True)
        synonym = services.synonym_group_set(merchant=self.merchant, terms=data.validated_data["terms"])
        return Response(s.SynonymOutput(synonym).data, status=status.HTTP_201_CREATED)


class SynonymDetailView(TenantAPIView):
    @extend_schema(responses={204: None}, tags=["catalog"])
    def delete(self, request: Request, synonym_id: str) -> Response:
        synonym = Synonym.objects.for_merchant(self.merchant).filter(id=synonym_id).first()
        if synonym is None:
            raise NotFoundError("Synonym group not found.")
        services.synonym_group_delete(merchant=self.merchant, synonym=synonym)
        return Response(status=status.HTTP_204_NO_CONTENT)
