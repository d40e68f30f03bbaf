"""Settings → Store platforms: connect Shopify / Salla / Zid, see each connection's health (status,
last sync, last error, last webhook), the webhook address (and Zid's basic-auth pair) to paste into
the platform, the initial import's progress, "sync now" / "reconcile", disconnect.
Admin only (like the integrations API); writes go through integrations.services."""

import json
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

PLATFORMS = ("shopify", "salla", "zid")
PLATFORM_NAMES = {"shopify": gettext_lazy("Shopify"), "salla": gettext_lazy("Salla"), "zid": gettext_lazy("Zid")}
STATUS_LABELS = {
    "active": gettext_lazy("Connected"),
    "disabled": gettext_lazy("Disabled"),
    "error": gettext_lazy("Error"),
}
JOB_KIND_LABELS = {"full": gettext_lazy("Initial import"), "reconcile": gettext_lazy("Reconcile")}
JOB_STATE_LABELS = {
    "pending": gettext_lazy("Waiting to start"),
    "running": gettext_lazy("Running"),
    "done": gettext_lazy("Done"),
    "failed": gettext_lazy("Failed"),
}
_SECRET = forms.PasswordInput(attrs={"autocomplete": "off"})


class _PlatformForm(forms.Form):
    """Credential fields are required on a first connection; on a re-connect blank ones keep the
    stored (encrypted) values, which are never sent back to the browser."""

    credential_fields: tuple[str, ...] = ()
    checkout_url = forms.URLField(
        label=gettext_lazy("Store checkout address (optional)"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy("Customers who order in the chat are sent here to pay."),
    )
    base_url = forms.URLField(
        label=gettext_lazy("API address (advanced)"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy("Leave empty to use the platform's official API."),
    )

    def __init__(self, *args: Any, connected: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connected = connected
        if connected:
            for name in self.credential_fields:
                self.fields[name].required = False
                self.fields[name].help_text = _("Leave empty to keep the saved value.")

    def credentials(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in self.credential_fields}


class ShopifyForm(_PlatformForm):
    credential_fields = ("access_token", "webhook_secret")
    shop_domain = forms.RegexField(
        label=gettext_lazy("Shop address"),
        max_length=255,
        regex=r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$",
        error_messages={"invalid": gettext_lazy("Use the store's address that ends in .myshopify.com.")},
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    access_token = forms.CharField(
        label=gettext_lazy("Admin API access token"), max_length=500, widget=_SECRET, strip=True
    )
    webhook_secret = forms.CharField(
        label=gettext_lazy("App API secret key (signs webhooks)"), max_length=500, widget=_SECRET, strip=True
    )
    field_order = ["shop_domain", "access_token", "webhook_secret", "checkout_url", "base_url"]

    def clean_shop_domain(self) -> str:
        return self.cleaned_data["shop_domain"].strip().lower()


class SallaForm(_PlatformForm):
    credential_fields = ("access_token", "webhook_secret")
    access_token = forms.CharField(label=gettext_lazy("Access token"), max_length=2000, widget=_SECRET, strip=True)
    webhook_secret = forms.CharField(
        label=gettext_lazy("Webhook secret (from the Salla app settings)"), max_length=500, widget=_SECRET
    )
    external_store_id = forms.CharField(label=gettext_lazy("Store ID (optional)"), max_length=100, required=False)
    field_order = ["access_token", "webhook_secret", "external_store_id", "checkout_url", "base_url"]


class ZidForm(_PlatformForm):
    credential_fields = ("authorization", "access_token")
    authorization = forms.CharField(label=gettext_lazy("Authorization token"), max_length=4000, widget=_SECRET)
    access_token = forms.CharField(label=gettext_lazy("Manager token"), max_length=4000, widget=_SECRET)
    external_store_id = forms.RegexField(
        label=gettext_lazy("Store ID"),
        max_length=100,
        regex=r"^\d+$",
        error_messages={"invalid": gettext_lazy("The store ID is a number.")},
    )
    field_order = ["authorization", "access_token", "external_store_id", "checkout_url", "base_url"]

    def credentials(self) -> dict[str, str]:
        return {**super().credentials(), "store_id": self.cleaned_data.get("external_store_id") or ""}


FORMS: dict[str, type[_PlatformForm]] = {"shopify": ShopifyForm, "salla": SallaForm, "zid": ZidForm}


class PlatformSettingsView(DashboardPage):
    template_name = "merchants/settings/platforms.html"
    nav_section = "platforms"
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from integrations import selectors as integration_selectors
        from integrations.services import connection_webhook_url

        context = super().get_context_data(**kwargs)
        connections = {c.platform: c for c in integration_selectors.connection_overview(merchant=self.merchant)}
        forms_given = kwargs.get("forms") or {}
        cards = []
        for platform in PLATFORMS:
            connection = connections.get(platform)
            card: dict[str, Any] = {"platform": platform, "name": PLATFORM_NAMES[platform], "connection": connection}
            card["form"] = forms_given.get(platform) or FORMS[platform](
                prefix=platform, connected=connection is not None, initial=_initial(connection)
            )
            if connection is not None:
                card["status_label"] = STATUS_LABELS.get(connection.status, connection.status)
                card["webhook_url"] = connection_webhook_url(connection)
                if platform == "zid":
                    stored = _credentials(connection)
                    card["basic_user"] = stored.get("webhook_username", "")
                    card["basic_password"] = stored.get("webhook_password", "")
                job = connection.latest_job
                if job is not None:
                    card["job"] = job
                    card["job_kind"] = JOB_KIND_LABELS.get(job.kind, job.kind)
                    card["job_state"] = JOB_STATE_LABELS.get(job.state, job.state)
                    card["job_running"] = job.state in ("pending", "running")
                    card["job_percent"] = min(100, int(job.processed * 100 / job.total)) if job.total else None
            cards.append(card)
        context["cards"] = cards
        context["polling"] = any(c.get("job_running") for c in cards)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from integrations import selectors as integration_selectors
        from integrations import services as integration_services

        action = request.POST.get("action", "")
        if action == "connect":
            return self._connect(request)
        if action not in ("sync", "reconcile", "disconnect"):
            return HttpResponse(status=400)
        connection = integration_selectors.connection_get(
            merchant=self.merchant, connection_id=_uuid_or_404(request.POST.get("connection"))
        )
        name = PLATFORM_NAMES.get(connection.platform, connection.platform)
        if action == "disconnect":
            audit(
                merchant=self.merchant,
                actor=request.user,
                action="platform.disconnected",
                target=connection,
                data={"platform": connection.platform},
            )
            integration_services.connection_disconnect(merchant=self.merchant, connection=connection)
            messages.success(request, _("%(platform)s disconnected.") % {"platform": name})
            return redirect("dashboard-settings-platforms")
        try:
            job = integration_services.connection_sync_request(
                merchant=self.merchant, connection=connection, kind="full" if action == "sync" else "reconcile"
            )
        except ApplicationError:
            messages.error(request, _("This connection is disabled."))
            return redirect("dashboard-settings-platforms")
        if job is None:
            messages.info(request, _("A sync is already running."))
        else:
            audit(merchant=self.merchant, actor=request.user, action=f"platform.{action}_started", target=connection)
            messages.success(request, _("Sync started."))
        return redirect("dashboard-settings-platforms")

    def _connect(self, request: HttpRequest) -> HttpResponse:
        from integrations import selectors as integration_selectors
        from integrations import services as integration_services

        platform = request.POST.get("platform", "")
        if platform not in FORMS:
            return HttpResponse(status=400)
        existing = integration_selectors.connection_list(merchant=self.merchant).filter(platform=platform).exists()
        form = FORMS[platform](request.POST, prefix=platform, connected=existing)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(forms={platform: form}, open=platform), status=400)
        data = form.cleaned_data
        try:
            connection, outcome = integration_services.connection_setup(
                merchant=self.merchant,
                platform=platform,
                credentials=form.credentials(),
                shop_domain=data.get("shop_domain", ""),
                external_store_id=data.get("external_store_id", ""),
                base_url=data.get("base_url") or "",
                checkout_url=data.get("checkout_url") or "",
                keep_credentials=existing,
            )
        except ApplicationError as exc:
            placed = False
            if exc.code == "unsafe_url":
                for field in exc.fields or {}:
                    if field in form.fields:
                        form.add_error(field, _("This address cannot be used: it must be a public http(s) address."))
                        placed = True
            if not placed:
                form.add_error(None, _("Some of the values are missing or invalid."))
            return self.render_to_response(self.get_context_data(forms={platform: form}, open=platform), status=400)
        audit(merchant=self.merchant, actor=request.user, action="platform.connected", target=connection)
        name = PLATFORM_NAMES[platform]
        if outcome == "connected":
            messages.success(request, _("%(platform)s connected; the first import has started.") % {"platform": name})
        else:
            messages.error(
                request,
                _("%(platform)s refused the connection. Check the credentials and try again.") % {"platform": name},
            )
        return redirect("dashboard-settings-platforms")


def _credentials(connection: Any) -> dict[str, str]:
    try:
        value = json.loads(connection.credentials or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _initial(connection: Any) -> dict[str, Any]:
    if connection is None:
        return {}
    return {
        "shop_domain": connection.shop_domain,
        "external_store_id": connection.external_store_id,
        "checkout_url": connection.checkout_url,
        "base_url": connection.base_url,
    }
