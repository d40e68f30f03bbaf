"""Dashboard pages: product list with search, product create/edit/archive, file import with live
progress (htmx polling)."""

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog import imports, selectors, services
from catalog.choices import ImportState, ProductStatus
from catalog.errors import CatalogError, DuplicateSkuError
from catalog.filtersets import ProductFilterSet
from catalog.forms import ProductForm
from catalog.models import ImportJob
from kaleem.tenancy.roles import Role
from merchants.views import DashboardPage

# Products a platform sync owns: an edit here lasts until the next webhook or nightly reconcile.
SYNCED_SOURCES = {"shopify": gettext_lazy("Shopify"), "salla": gettext_lazy("Salla"), "zid": gettext_lazy("Zid")}
PRODUCT_STATUS_LABELS = {
    ProductStatus.ACTIVE: gettext_lazy("Active"),
    ProductStatus.DRAFT: gettext_lazy("Draft"),
    ProductStatus.ARCHIVED: gettext_lazy("Archived"),
}
INDEX_STATE_LABELS = {
    "pending": gettext_lazy("Waiting to be indexed"),
    "indexed": gettext_lazy("Indexed"),
    "failed": gettext_lazy("Indexing failed (will retry)"),
    "removed": gettext_lazy("Not in the index"),
}
SEARCH_MODE_LABELS = {
    "hybrid": gettext_lazy("meaning and keywords"),
    "lexical": gettext_lazy("keywords"),
    "dense": gettext_lazy("meaning"),
}
FILTER_LABELS = {
    "price_min": gettext_lazy("from price"),
    "price_max": gettext_lazy("up to price"),
    "in_stock": gettext_lazy("in stock"),
    "size": gettext_lazy("size"),
    "colour": gettext_lazy("colour"),
    "tag": gettext_lazy("tag"),
    "category": gettext_lazy("category"),
    "category_ids": gettext_lazy("category"),
}
# Service messages are English (API); the form shows these instead, in the user's language.
PRODUCT_FIELD_ERRORS = {
    "sku": gettext_lazy("Another product of this store already uses this SKU."),
    "sale_price": gettext_lazy("The sale price cannot be higher than the price."),
    "title_ar": gettext_lazy("Give the product a title in Arabic or English."),
}


class ProductListPage(DashboardPage):
    template_name = "catalog/product_list.html"
    nav_section = "catalog"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        request = self.request
        query = (request.GET.get("q") or "").strip()
        context["q"] = query
        if query:
            try:
                result = selectors.product_search(merchant=self.merchant, query=query, limit=50)
                context["search"] = result
                context["products"] = [p for p, _ in result.items]
            except CatalogError as exc:
                context["search_error"] = exc.message
                context["products"] = []
        else:
            request.merchant = self.merchant  # the FilterSet resolves categories within this store
            filterset = ProductFilterSet(
                request.GET, queryset=selectors.product_list(merchant=self.merchant), request=request
            )
            page = Paginator(filterset.qs if filterset.is_valid() else filterset.queryset.none(), 50).get_page(
                request.GET.get("page")
            )
            context["page"] = page
            context["products"] = list(page.object_list)
            context["filterset"] = filterset
        for p in context["products"]:
            p.status_label = PRODUCT_STATUS_LABELS.get(p.status, p.status)
            p.index_label = INDEX_STATE_LABELS.get(p.index_state, p.index_state)
        if context.get("search"):
            result = context["search"]
            context["search_mode"] = SEARCH_MODE_LABELS.get(result.mode, result.mode)
            context["search_filters"] = [
                {"key": key, "label": FILTER_LABELS.get(key, key), "value": "" if key == "in_stock" else value}
                for key, value in result.applied_filters.items()
            ]
        context["categories"] = selectors.category_list(merchant=self.merchant)
        context["can_edit"] = self.can(Role.ADMIN)
        return context


class ProductEditPage(DashboardPage):
    """Create (no `product_id`) or edit a product; archive. Same roles as the catalog API writes
    (admin); saving goes through catalog.services, whose outbox event re-indexes the product."""

    template_name = "catalog/product_edit.html"
    nav_section = "catalog"
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def _product(self) -> Any:
        product_id = self.kwargs.get("product_id")
        return selectors.product_get(merchant=self.merchant, product_id=product_id) if product_id else None

    def _form(self, product: Any, data: Any = None) -> ProductForm:
        categories = list(selectors.category_list(merchant=self.merchant))
        initial = ProductForm.initial_for(product) if product else {}
        return ProductForm(data, initial=initial, categories=categories)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        product = self._product()
        return self.render_to_response(self.get_context_data(product=product, form=self._form(product)))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        product = self._product()
        if request.POST.get("action") == "archive" and product is not None:
            services.product_archive(merchant=self.merchant, product=product)
            messages.success(request, _("Product archived; it no longer appears in search."))
            return redirect("catalog-dashboard-product", product_id=product.pk)
        form = self._form(product, request.POST)
        if form.is_valid():
            try:
                if product is None:
                    product = services.product_create(
                        merchant=self.merchant, data={**form.service_data(), "currency": self.merchant.currency}
                    )
                else:
                    product = services.product_update(merchant=self.merchant, product=product, data=form.service_data())
            except CatalogError as exc:
                _form_errors_from(form, exc)
            else:
                messages.success(request, _("Product saved; search will show the change in a moment."))
                return redirect("catalog-dashboard-product", product_id=product.pk)
        if product is not None:
            product.refresh_from_db()  # the service may have applied part of the input to the instance
        return self.render_to_response(self.get_context_data(product=product, form=form), status=400)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        product = context.get("product")
        context["archived"] = bool(product and product.status == ProductStatus.ARCHIVED)
        context["synced_from"] = SYNCED_SOURCES.get(product.source) if product else None
        return context


def _form_errors_from(form: ProductForm, exc: CatalogError) -> None:
    if isinstance(exc, DuplicateSkuError):
        form.add_error("sku", PRODUCT_FIELD_ERRORS["sku"])
        return
    placed = False
    for field in exc.fields or {}:
        if field in form.fields:
            form.add_error(field, PRODUCT_FIELD_ERRORS.get(field, _("Enter a valid value.")))
            placed = True
    if not placed:
        form.add_error(None, _("The product could not be saved. Check the values and try again."))


class ImportPage(DashboardPage):
    template_name = "catalog/imports.html"
    nav_section = "catalog"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["jobs"] = ImportJob.objects.for_merchant(self.merchant)[:20]
        context["columns"] = imports.CSV_COLUMNS
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a CSV or JSON file to import."))
            return redirect("catalog-dashboard-imports")
        try:
            job = imports.import_job_create(
                merchant=self.merchant, upload=upload, filename=upload.name, user=request.user
            )
        except CatalogError as exc:
            messages.error(request, exc.message)
            return redirect("catalog-dashboard-imports")
        return redirect("catalog-dashboard-import", job_id=job.id)


class ImportDetailPage(DashboardPage):
    template_name = "catalog/import_detail.html"
    nav_section = "catalog"

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False):
            return ["catalog/partials/_import_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        job = selectors.import_job_get(merchant=self.merchant, job_id=kwargs["job_id"])
        context["job"] = job
        context["running"] = job.state in (ImportState.PENDING, ImportState.RUNNING)
        return context
