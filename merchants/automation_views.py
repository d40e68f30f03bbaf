"""Settings → Automations: signed webhook subscriptions for the merchant's automations (n8n…),
their delivery log and dead-letter replay. Writes go through integrations.services / delivery."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kaleem.core.errors import ApplicationError
from kaleem.tenancy.roles import Role
from merchants.services import audit
from merchants.views import DashboardPage, _uuid_or_404

EVENT_LABELS = {
    "conversation.created": gettext_lazy("New conversation"),
    "message.received": gettext_lazy("Message received"),
    "handoff.requested": gettext_lazy("Hand-off to a person requested"),
    "order.created": gettext_lazy("Order created"),
    "order.status_changed": gettext_lazy("Order status changed"),
    "lead.created": gettext_lazy("New lead"),
    "product.out_of_stock": gettext_lazy("Product out of stock"),
}
DELIVERY_LABELS = {
    "pending": gettext_lazy("Pending"),
    "succeeded": gettext_lazy("Delivered"),
    "dead": gettext_lazy("Failed"),
}


class SubscriptionForm(forms.Form):
    url = forms.URLField(label=gettext_lazy("Address (URL)"), max_length=1000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"), widget=forms.CheckboxSelectMultiple, choices=list(EVENT_LABELS.items())
    )
    description = forms.CharField(label=gettext_lazy("Description"), required=False, max_length=200)
    auth_header_name = forms.CharField(
        label=gettext_lazy("Header name (optional)"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("For n8n “Header Auth”, e.g. X-N8N-Key."),
    )
    auth_header_value = forms.CharField(
        label=gettext_lazy("Header value"), required=False, max_length=500, widget=forms.PasswordInput
    )


class AutomationsView(DashboardPage):
    template_name = "merchants/settings/automations.html"
    nav_section = "automations"
    read_role = Role.ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from integrations import selectors as integration_selectors

        context = super().get_context_data(**kwargs)
        subscriptions = list(integration_selectors.subscription_list(merchant=self.merchant).order_by("created_at"))
        for sub in subscriptions:
            sub.event_labels = [str(EVENT_LABELS.get(e, e)) for e in sub.events]
        deliveries = list(
            integration_selectors.delivery_list(merchant=self.merchant).select_related("subscription")[:50]
        )
        for d in deliveries:
            d.state_label = DELIVERY_LABELS.get(d.state, d.state)
            d.event_label = EVENT_LABELS.get(d.event_type, d.event_type)
        context.update(subscriptions=subscriptions, deliveries=deliveries)
        context.setdefault("form", SubscriptionForm())
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from integrations import selectors as integration_selectors
        from integrations import services as integration_services
        from integrations.automations.delivery import deliveries_replay

        action = request.POST.get("action", "")
        if action == "create":
            form = SubscriptionForm(request.POST)
            if not form.is_valid():
                return self.render_to_response(self.get_context_data(form=form), status=400)
            try:
                sub = integration_services.subscription_create(merchant=self.merchant, **form.cleaned_data)
            except ApplicationError:
                form.add_error("url", _("This address cannot be used: it must be a public http(s) address."))
                return self.render_to_response(self.get_context_data(form=form), status=400)
            audit(merchant=self.merchant, actor=request.user, action="automation.subscribed", target=sub)
            response = self.render_to_response(self.get_context_data(new_secret=sub.secret, new_subscription=sub))
            response["Cache-Control"] = "no-store"
            return response
        if action in ("delete", "pause", "resume"):
            sub = integration_selectors.subscription_get(
                merchant=self.merchant, subscription_id=_uuid_or_404(request.POST.get("subscription"))
            )
            if action == "delete":
                integration_services.subscription_delete(merchant=self.merchant, subscription=sub)
            else:
                integration_services.subscription_update(
                    merchant=self.merchant, subscription=sub, data={"active": action == "resume"}
                )
            audit(merchant=self.merchant, actor=request.user, action=f"automation.{action}d", target=sub)
            messages.success(request, _("Saved."))
            return redirect("dashboard-settings-automations")
        if action == "replay":
            delivery = integration_selectors.delivery_get(
                merchant=self.merchant, delivery_id=_uuid_or_404(request.POST.get("delivery"))
            )
            count = deliveries_replay(merchant=self.merchant, delivery_ids=[delivery.pk])
            messages.success(request, _("Delivery queued again.") if count else _("This delivery was already handled."))
            return redirect("dashboard-settings-automations")
        return HttpResponse(status=400)
