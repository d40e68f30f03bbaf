"""One FilterSet for product lists, shared by the API and the dashboard page."""

from typing import Any

import django_filters
from django.db.models import QuerySet

from catalog.choices import IndexState, ProductStatus
from catalog.models import Category, Product


def descendant_ids(*, merchant_id: Any, category: Category) -> list[Any]:
    children: dict[Any, list[Any]] = {}
    for cid, parent_id in Category.objects.for_merchant(merchant_id).values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(cid)
    found, stack = [], [category.id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.append(current)
        stack.extend(children.get(current, []))
    return found


class ProductFilterSet(django_filters.FilterSet):
    category = django_filters.CharFilter(
        method="filter_category", help_text="Category id or slug (includes sub-categories)."
    )
    price_min = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    price_max = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    status = django_filters.ChoiceFilter(choices=ProductStatus.choices)
    in_stock = django_filters.BooleanFilter()
    tag = django_filters.CharFilter(method="filter_tag")
    sku = django_filters.CharFilter()
    index_state = django_filters.ChoiceFilter(choices=IndexState.choices)

    class Meta:
        model = Product
        fields = ["category", "price_min", "price_max", "status", "in_stock", "tag", "sku", "index_state"]

    def filter_category(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Resolved inside the queryset's merchant: another store's category id simply matches nothing.
        merchant_id = getattr(self.request, "merchant", None)
        merchant_id = getattr(merchant_id, "pk", None) or getattr(
            getattr(self.request, "page_membership", None), "merchant_id", None
        )
        categories = Category.objects.for_merchant(merchant_id)
        category = None
        try:
            category = categories.filter(id=value).first()
        except Exception:
            category = None
        category = category or categories.filter(slug=value).first()
        if category is None:
            return queryset.none()
        return queryset.filter(category_id__in=descendant_ids(merchant_id=merchant_id, category=category))

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        tag = value.strip().lower().replace("|", "")
        return queryset.filter(tags_index__contains=f"|{tag}|") if tag else queryset
