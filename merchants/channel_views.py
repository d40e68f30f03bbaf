"""Settings → Channels: status and health of each channel (last webhook, last error, open dead
letters with replay/discard) and the webchat widget's appearance. Writes go through
channels.services; the page adds an audit entry for each admin action."""

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kaleem.core.errors import ApplicationError
from kaleem.tenancy.roles import Role
from merchants.services import audit
from merchants.views import DashboardPage, _uuid_or_404, error_message

STATUS_LABELS = {
    "pending": gettext_lazy("Waiting for connection"),
    "active": gettext_lazy("Active"),
    "disabled": gettext_lazy("Disabled"),
    "error": gettext_lazy("Error"),
}
KIND_LABELS = {
    "webchat": gettext_lazy("Webchat"),
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "instagram": "Instagram",
    "messenger": "Messenger",
}
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


class WidgetAppearanceForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title shown in the widget"), max_length=120, required=False)
    greeting = forms.CharField(
        label=gettext_lazy("Greeting"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    primary = forms.CharField(
        label=gettext_lazy("Main colour"), max_length=7, widget=forms.TextInput(attrs={"type": "color"})
    )
    on_primary = forms.CharField(
        label=gettext_lazy("Text colour on the main colour"),
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    bubble = forms.CharField(
        label=gettext_lazy("Customer bubble colour"), max_length=7, widget=forms.TextInput(attrs={"type": "color"})
    )
    logo = forms.URLField(label=gettext_lazy("Logo URL"), required=False, max_length=300, assume_scheme="https")
    allowed_origins = forms.CharField(
        label=gettext_lazy("Websites allowed to embed the widget"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "ltr"}),
        help_text=gettext_lazy("One per line, e.g. https://shop.example.com"),
    )

    def _colour(self, name: str) -> str:
        value = self.cleaned_data[name]
        if not COLOUR.match(value):
            raise forms.ValidationError(_("Use a colour like #0f766e."))
        return value.lower()

    def clean_primary(self) -> str:
        return self._colour("primary")

    def clean_on_primary(self) -> str:
        return self._colour("on_primary")

    def clean_bubble(self) -> str:
        return self._colour("bubble")

    def clean_allowed_origins(self) -> list[str]:
        origins = []
        for line in self.cleaned_data["allowed_origins"].splitlines():
            line = line.strip().rstrip("/")
            if not line:
                continue
            if not ORIGIN.match(line):
                raise forms.ValidationError(
                    _("“%(value)s” is not a website address like https://shop.example.com.") % {"value": line}
                )
            origins.append(line.lower())
        if len(origins) > 20:
            raise forms.ValidationError(_("List at most 20 websites."))
        return origins

    @classmethod
    def initial_for(cls, channel: Any) -> dict[str, Any]:
        cfg = channel.settings or {}
        colours = cfg.get("colours") or {}
        return {
            "title": cfg.get("title", ""),
            "greeting": cfg.get("greeting", "") if isinstance(cfg.get("greeting"), str) else "",
            "primary": colours.get("primary", "#0f766e"),
            "on_primary": colours.get("on_primary", "#ffffff"),
            "bubble": colours.get("bubble", "#f1f5f9"),
            "logo": cfg.get("logo", ""),
            "allowed_origins": "\n".join(cfg.get("allowed_origins") or []),
        }

    def settings_for(self, channel: Any) -> dict[str, Any]:
        data = self.cleaned_data
        merged = dict(channel.settings or {})
        merged.update(
            title=data["title"],
            greeting=data["greeting"],
            colours={"primary": data["primary"], "on_primary": data["on_primary"], "bubble": data["bubble"]},
            logo=data["logo"],
            allowed_origins=data["allowed_origins"],
        )
        return merged


def _health(merchant: Any) -> dict[Any, dict[str, Any]]:
    """Last webhook and open dead letters per channel in two grouped queries."""
    from channels.models import DeadLetter, WebhookEvent

    last = WebhookEvent.objects.for_merchant(merchant).values("channel_id").annotate(at=Max("received_at"))
    dead = (
        DeadLetter.objects.for_merchant(merchant)
        .values("channel_id")
        .annotate(open=Count("id", filter=Q(state=DeadLetter.State.OPEN)))
    )
    health: dict[Any, dict[str, Any]] = {}
    for row in last:
        health.setdefault(row["channel_id"], {})["last_webhook"] = row["at"]
    for row in dead:
        health.setdefault(row["channel_id"], {})["dead_open"] = row["open"]
    return health


class ChannelSettingsView(DashboardPage):
    template_name = "merchants/settings/channels.html"
    nav_section = "channels"
    read_role = Role.ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from channels import selectors as channel_selectors

        context = super().get_context_data(**kwargs)
        channels = list(channel_selectors.channel_list(merchant=self.merchant))
        health = _health(self.merchant)
        forms_by_channel = kwargs.get("widget_forms", {})
        for c in channels:
            c.kind_label = KIND_LABELS.get(c.kind, c.kind)
            c.status_label = STATUS_LABELS.get(c.status, c.status)
            c.health = health.get(c.pk, {})
            if c.kind == "webchat":
                c.widget_form = forms_by_channel.get(c.pk) or WidgetAppearanceForm(
                    initial=WidgetAppearanceForm.initial_for(c), prefix=f"w{c.pk}"
                )
        dead = list(
            channel_selectors.dead_letter_list(merchant=self.merchant, state="open").select_related("channel")[:50]
        )
        for d in dead:
            d.kind_label = KIND_LABELS.get(d.channel.kind, d.channel.kind)
        context.update(channels=channels, dead_letters=dead)
        return context

    def _channel(self, value: Any) -> Any:
        from channels import selectors as channel_selectors

        return channel_selectors.channel_get(merchant=self.merchant, channel_id=_uuid_or_404(value))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from channels import services as channel_services

        action = request.POST.get("action", "")
        try:
            if action in ("enable", "disable"):
                channel = self._channel(request.POST.get("channel"))
                channel_services.channel_update(channel=channel, status="active" if action == "enable" else "disabled")
                audit(merchant=self.merchant, actor=request.user, action=f"channel.{action}d", target=channel)
                messages.success(request, _("Channel updated."))
            elif action in ("replay", "discard"):
                dead_id = _uuid_or_404(request.POST.get("dead_letter"))
                fn = channel_services.dead_letter_replay if action == "replay" else channel_services.dead_letter_discard
                dead = fn(merchant=self.merchant, dead_letter_id=dead_id)
                audit(merchant=self.merchant, actor=request.user, action=f"dead_letter.{action}ed", target=dead)
                messages.success(
                    request, _("Message queued again.") if action == "replay" else _("Dead letter discarded.")
                )
            elif action == "appearance":
                channel = self._channel(request.POST.get("channel"))
                if channel.kind != "webchat":
                    raise Http404
                form = WidgetAppearanceForm(request.POST, prefix=f"w{channel.pk}")
                if not form.is_valid():
                    return self.render_to_response(self.get_context_data(widget_forms={channel.pk: form}), status=400)
                channel_services.channel_update(channel=channel, settings=form.settings_for(channel))
                audit(merchant=self.merchant, actor=request.user, action="channel.appearance_updated", target=channel)
                messages.success(request, _("Widget appearance saved."))
            else:
                return HttpResponse(status=400)
        except ApplicationError as exc:
            if exc.status_code == 404:
                raise Http404 from exc
            messages.error(
                request, _("This dead letter was already handled.") if exc.status_code == 409 else error_message(exc)
            )
        return redirect("dashboard-settings-channels")
