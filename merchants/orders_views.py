"""Dashboard orders: list with filters and CSV export, detail with status changes.

Orders belong to the commerce part of the catalog app; these pages read through
`catalog.commerce_selectors` and change status through `catalog.commerce_services.order_set_status`
(which records history and emits `order.status_changed` in the same transaction)."""

import csv
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kaleem.core.errors import ApplicationError
from kaleem.tenancy.roles import Role
from merchants.views import DashboardPage, _uuid_or_404, error_message

ORDER_STATUS_LABELS = {
    "pending": gettext_lazy("Pending"),
    "confirmed": gettext_lazy("Confirmed"),
    "shipped": gettext_lazy("Shipped"),
    "delivered": gettext_lazy("Delivered"),
    "cancelled": gettext_lazy("Cancelled"),
    "returned": gettext_lazy("Returned"),
}
ORDER_SOURCE_LABELS = {
    "chat": gettext_lazy("Chat"),
    "api": gettext_lazy("API"),
    "shopify": "Shopify",
    "salla": gettext_lazy("Salla"),
    "zid": gettext_lazy("Zid"),
}
PAYMENT_LABELS = {
    "cod": gettext_lazy("Cash on delivery"),
    "payment_link": gettext_lazy("Payment link"),
    "platform": gettext_lazy("Paid on the platform"),
}
# the next statuses a person can choose (the service enforces the same lifecycle)
NEXT_STATUSES = {
    "pending": ["confirmed", "cancelled"],
    "confirmed": ["shipped", "cancelled"],
    "shipped": ["delivered", "returned"],
    "delivered": ["returned"],
    "cancelled": [],
    "returned": [],
}
PAGE_SIZE = 50
CSV_MAX_ROWS = 50_000


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All"))] + list(ORDER_STATUS_LABELS.items()),
    )
    source = forms.ChoiceField(
        label=gettext_lazy("Source"),
        required=False,
        choices=[("", gettext_lazy("All"))] + list(ORDER_SOURCE_LABELS.items()),
    )
    payment_method = forms.ChoiceField(
        label=gettext_lazy("Payment"),
        required=False,
        choices=[("", gettext_lazy("All"))] + list(PAYMENT_LABELS.items()),
    )
    number = forms.CharField(label=gettext_lazy("Order number"), required=False, max_length=40)
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        out: dict[str, Any] = {k: data[k] for k in ("status", "source", "payment_method") if data.get(k)}
        if data.get("number"):
            out["number"] = data["number"].strip().upper()
        if data.get("date_from"):
            out["created_after"] = timezone.make_aware(datetime.combine(data["date_from"], time.min), tz)
        if data.get("date_to"):
            out["created_before"] = timezone.make_aware(
                datetime.combine(data["date_to"] + timedelta(days=1), time.min), tz
            )
        return out


def _decorate(order: Any) -> Any:
    order.status_label = ORDER_STATUS_LABELS.get(order.status, order.status)
    order.source_label = ORDER_SOURCE_LABELS.get(order.source, order.source)
    order.payment_label = PAYMENT_LABELS.get(order.payment_method, order.payment_method)
    return order


class OrdersView(DashboardPage):
    template_name = "merchants/orders/list.html"
    nav_section = "orders"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from catalog.commerce_selectors import order_list

        form = OrderFilterForm(request.GET or None)
        orders = order_list(merchant=self.merchant, filters=form.filters()).order_by("-created_at", "-id")
        if request.GET.get("export") == "csv":
            if not self.can(Role.ADMIN):  # the file carries customer contact details
                return HttpResponse(status=403)
            return _csv_response(orders)
        page = Paginator(orders.prefetch_related(None), PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [_decorate(o) for o in page.object_list]
        query = request.GET.copy()
        query.pop("page", None)
        return self.render_to_response(
            self.get_context_data(
                form=form, page=page, orders=rows, filter_query=query.urlencode(), can_export=self.can(Role.ADMIN)
            )
        )


def _cell(value: Any) -> str:
    """CSV cells that a spreadsheet would run as a formula are quoted (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_response(orders: Any) -> StreamingHttpResponse:
    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    header = [
        "number",
        "created_at",
        "status",
        "source",
        "payment_method",
        "currency",
        "subtotal",
        "total",
        "customer_name",
        "customer_phone",
        "shipping_city",
        "items",
    ]

    def rows():  # noqa: ANN202
        yield "\ufeff" + writer.writerow(header)  # BOM: Excel opens Arabic UTF-8 correctly
        for order in orders.prefetch_related("items")[:CSV_MAX_ROWS].iterator(chunk_size=500):
            items = "; ".join(f"{i.sku or i.title} x{i.quantity}" for i in order.items.all())
            yield writer.writerow(
                [
                    _cell(v)
                    for v in (
                        order.number,
                        order.created_at.isoformat(),
                        order.status,
                        order.source,
                        order.payment_method,
                        order.currency,
                        order.subtotal,
                        order.total,
                        order.customer_name,
                        order.customer_phone,
                        order.shipping_city,
                        items,
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="orders-{timezone.localdate():%Y%m%d}.csv"'
    response["Cache-Control"] = "no-store"
    return response


class OrderDetailView(DashboardPage):
    template_name = "merchants/orders/detail.html"
    nav_section = "orders"
    write_role = Role.AGENT

    def get_order(self) -> Any:
        from catalog.commerce_selectors import order_get

        return _decorate(order_get(merchant=self.merchant, order_id=_uuid_or_404(self.kwargs["pk"])))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        order = kwargs.get("order") or self.get_order()
        history = list(order.history.all())
        for h in history:
            h.to_label = ORDER_STATUS_LABELS.get(h.to_status, h.to_status)
        from catalog.commerce_services import order_payment_url

        context.update(
            order=order,
            payment_url=order_payment_url(order, self.merchant),
            items=list(order.items.all()),
            history=history,
            next_statuses=[(s, ORDER_STATUS_LABELS[s]) for s in NEXT_STATUSES.get(order.status, [])]
            if self.can(Role.AGENT)
            else [],
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from catalog.commerce_services import order_set_status

        order = self.get_order()
        status = request.POST.get("status", "")
        note = (request.POST.get("note") or "").strip()[:500]
        if status not in NEXT_STATUSES.get(order.status, []):
            messages.error(request, _("That status change is not possible for this order."))
            return redirect("dashboard-order", pk=order.pk)
        try:
            order_set_status(
                merchant=self.merchant, order=order, status=status, note=note, actor=f"user:{request.user.pk}"
            )
        except ApplicationError as exc:
            if exc.code in ("invalid_transition", "conflict"):
                messages.error(request, _("The order changed meanwhile; reload and try again."))
            else:
                messages.error(request, error_message(exc))
        else:
            messages.success(request, _("Order status updated."))
        return redirect("dashboard-order", pk=order.pk)
