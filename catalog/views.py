"""Dashboard pages: product list with search, file import with live progress (htmx polling)."""

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from catalog import imports, selectors
from catalog.choices import ImportState
from catalog.errors import CatalogError
from catalog.filtersets import ProductFilterSet
from catalog.models import ImportJob
from merchants.views import DashboardPage


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
        context["categories"] = selectors.category_list(merchant=self.merchant)
        return context


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
