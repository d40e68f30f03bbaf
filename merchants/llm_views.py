"""Settings → AI model & budget: per store, the assistant's optional LLM phrasing is off, the
platform's model, or the store's own OpenAI-compatible endpoint (key stored encrypted, address
SSRF-guarded), with a monthly token budget. Admin only; writes go through
integrations.services.llm_settings_update."""

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
from merchants.views import DashboardPage

MODE_LABELS = {
    "off": gettext_lazy("Off: answers are composed from your knowledge and catalog only"),
    "platform": gettext_lazy("Kaleem's model (platform default)"),
    "custom": gettext_lazy("My own OpenAI-compatible endpoint"),
}
FIELD_ERRORS = {
    "required": gettext_lazy("This field is required."),
    "unsafe_url": gettext_lazy("This address cannot be used: it must be a public http(s) address."),
    "invalid": gettext_lazy("Enter a valid value."),
    "over_platform_budget": gettext_lazy("With Kaleem's model the budget cannot exceed the platform limit."),
}


class LlmSettingsForm(forms.Form):
    mode = forms.ChoiceField(
        label=gettext_lazy("Language model"), choices=list(MODE_LABELS.items()), widget=forms.RadioSelect
    )
    base_url = forms.URLField(
        label=gettext_lazy("Endpoint address"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy("The base address that serves /chat/completions, ending in /v1."),
        widget=forms.URLInput(attrs={"dir": "ltr"}),
    )
    model = forms.CharField(
        label=gettext_lazy("Model name"), required=False, max_length=200, widget=forms.TextInput(attrs={"dir": "ltr"})
    )
    api_key = forms.CharField(
        label=gettext_lazy("API key"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    monthly_token_budget = forms.IntegerField(
        label=gettext_lazy("Monthly token budget"),
        required=False,
        min_value=0,
        max_value=1_000_000_000,
        help_text=gettext_lazy(
            "Leave empty for the platform default. When it is used up, answers are composed without the model until next month."
        ),
    )

    def __init__(self, *args: Any, has_key: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if has_key:
            self.fields["api_key"].help_text = _("A key is saved. Leave empty to keep it.")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("mode") == "custom":
            for name in ("base_url", "model"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, FIELD_ERRORS["required"])
        return data


class LlmSettingsView(DashboardPage):
    template_name = "merchants/settings/llm.html"
    nav_section = "ai"
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def _row(self) -> Any:
        from integrations import selectors as integration_selectors

        return integration_selectors.llm_settings_get(merchant=self.merchant)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from django.conf import settings

        from integrations.ai import llm

        context = super().get_context_data(**kwargs)
        row = kwargs["row"] if "row" in kwargs else self._row()
        config = llm.store_llm_config(merchant=self.merchant, store_settings=row)
        budget = llm.store_budget(merchant=self.merchant, store_settings=row)
        spent = llm.tokens_spent(merchant=self.merchant)
        context.update(
            row=row,
            config=config,
            platform_available=llm.llm_enabled(),
            platform_model=getattr(settings, "LLM_MODEL", "") if llm.llm_enabled() else "",
            platform_budget=llm.platform_budget(),
            budget=budget,
            spent=spent,
            share_percent=min(100, int(spent * 100 / budget)) if budget else None,
        )
        if "form" not in context:
            context["form"] = LlmSettingsForm(
                has_key=bool(row and row.api_key),
                initial={
                    "mode": row.mode if row else "platform",
                    "base_url": row.base_url if row else "",
                    "model": row.model if row else "",
                    "monthly_token_budget": row.monthly_token_budget if row else None,
                },
            )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from integrations import services as integration_services

        row = self._row()
        form = LlmSettingsForm(request.POST, has_key=bool(row and row.api_key))
        if form.is_valid():
            try:
                saved = integration_services.llm_settings_update(merchant=self.merchant, **form.cleaned_data)
            except ApplicationError as exc:
                for field, codes in (exc.fields or {}).items():
                    target = field if field in form.fields else None
                    for code in codes:
                        form.add_error(target, FIELD_ERRORS.get(code, FIELD_ERRORS["invalid"]))
                if not exc.fields:
                    form.add_error(None, FIELD_ERRORS["invalid"])
            else:
                audit(
                    merchant=self.merchant,
                    actor=request.user,
                    action="ai.settings_updated",
                    target=saved,
                    data={"mode": saved.mode, "budget": saved.monthly_token_budget},
                )
                messages.success(request, _("AI settings saved."))
                return redirect("dashboard-settings-ai")
        return self.render_to_response(self.get_context_data(form=form, row=row), status=400)
