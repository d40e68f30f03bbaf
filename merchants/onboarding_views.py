"""Onboarding wizard: store profile → knowledge → channel → test the assistant → done.

`Merchant.onboarding_step` remembers the furthest step reached, so `/dashboard/onboarding/`
resumes where the merchant left. Knowledge, channels and the simulated chat belong to other
areas; `merchants.onboarding_adapters` calls their services and reports what is missing."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kaleem.core.errors import ApplicationError
from kaleem.tenancy.roles import Role
from merchants import onboarding_adapters as adapters
from merchants import services
from merchants.forms import StoreProfileForm
from merchants.views import DashboardPage, error_message

STEPS = [
    ("profile", gettext_lazy("Store profile")),
    ("knowledge", gettext_lazy("Policies and FAQs")),
    ("channel", gettext_lazy("Connect a channel")),
    ("test", gettext_lazy("Test your assistant")),
    ("done", gettext_lazy("Done")),
]
STEP_KEYS = [key for key, _label in STEPS]


def step_index(step: str) -> int:
    return STEP_KEYS.index(step) if step in STEP_KEYS else 0


class OnboardingResumeView(DashboardPage):
    read_role = Role.ADMIN

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        step = self.merchant.onboarding_step or "done"
        return redirect("dashboard-onboarding-step", step=step if step in STEP_KEYS else "profile")


class OnboardingStepView(DashboardPage):
    read_role = Role.ADMIN
    nav_section = "onboarding"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if kwargs.get("step") not in STEP_KEYS:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    @property
    def step(self) -> str:
        return self.kwargs["step"]

    def get_template_names(self) -> list[str]:
        return [f"merchants/onboarding/{self.step}.html"]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        reached = step_index(self.merchant.onboarding_step or "done")
        current = step_index(self.step)
        context["steps"] = [
            {"key": key, "label": label, "done": i < reached and i != current, "current": i == current}
            for i, (key, label) in enumerate(STEPS)
        ]
        context["step"] = self.step
        context["step_number"] = current + 1
        context["step_count"] = len(STEPS)
        context["progress"] = round(100 * current / (len(STEPS) - 1))
        builder = getattr(self, f"context_{self.step}", None)
        if builder:
            builder(context)
        return context

    def advance(self) -> HttpResponse:
        following = STEP_KEYS[min(step_index(self.step) + 1, len(STEP_KEYS) - 1)]
        reached = self.merchant.onboarding_step or "done"
        if step_index(following) > step_index(reached) or following == "done":
            services.merchant_update(
                merchant=self.merchant, actor=self.request.user, data={"onboarding_step": following}
            )
        return redirect("dashboard-onboarding-step", step=following)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("action") == "skip":
            return self.advance()
        handler = getattr(self, f"post_{self.step}", None)
        if handler is None:
            return self.advance()
        return handler(request)

    # --- profile
    def context_profile(self, context: dict[str, Any]) -> None:
        if "form" not in context:
            context["form"] = StoreProfileForm(
                initial={name: getattr(self.merchant, name) for name in StoreProfileForm.base_fields}
            )

    def post_profile(self, request: HttpRequest) -> HttpResponse:
        form = StoreProfileForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        services.merchant_update(merchant=self.merchant, actor=request.user, data=form.cleaned_data)
        return self.advance()

    # --- knowledge
    def context_knowledge(self, context: dict[str, Any]) -> None:
        language = self.merchant.default_language
        context["knowledge_available"] = adapters.knowledge_available()
        context.setdefault("templates", adapters.starter_templates(language=language, merchant=self.merchant))
        context["existing_knowledge"] = adapters.knowledge_count(merchant=self.merchant)

    def post_knowledge(self, request: HttpRequest) -> HttpResponse:
        language = self.merchant.default_language
        templates = adapters.starter_templates(language=language, merchant=self.merchant)
        chosen, errors = [], {}
        for item in templates:
            if request.POST.get(f"use_{item['key']}") != "on":
                item["checked"] = False
                continue
            body = (request.POST.get(f"body_{item['key']}") or "").strip()
            item["body"] = body
            item["checked"] = True
            if not body:
                errors[item["key"]] = _("Write the text or untick this item.")
            elif len(body) > 5000:
                errors[item["key"]] = _("Keep it under 5,000 characters.")
            chosen.append({**item, "body": body})
        if errors:
            for item in templates:
                item["error"] = errors.get(item["key"], "")
            return self.render_to_response(self.get_context_data(templates=templates), status=400)
        if chosen and adapters.knowledge_available():
            try:
                adapters.knowledge_save(merchant=self.merchant, actor=request.user, items=chosen, language=language)
            except ApplicationError as exc:
                messages.error(request, error_message(exc))
                return self.render_to_response(self.get_context_data(templates=templates), status=400)
            messages.success(request, _("Knowledge saved."))
        return self.advance()

    # --- channel
    def context_channel(self, context: dict[str, Any]) -> None:
        context["channels_available"] = adapters.channels_available()
        from merchants.channel_views import KIND_LABELS, STATUS_LABELS

        channels = adapters.channel_list(merchant=self.merchant)
        for c in channels:
            c.kind_label = KIND_LABELS.get(c.kind, c.kind)
            c.status_label = STATUS_LABELS.get(c.status, c.status)
        context["channels"] = channels
        context["webchat"] = adapters.webchat_snippet(merchant=self.merchant, request=self.request)
        context["meta_kinds"] = adapters.META_KIND_LABELS
        context["meta_setup"] = adapters.meta_setup(merchant=self.merchant)

    def post_channel(self, request: HttpRequest) -> HttpResponse:
        kind = request.POST.get("kind", "")
        try:
            if kind == "webchat":
                adapters.webchat_connect(merchant=self.merchant, actor=request.user)
                messages.success(request, _("Webchat is ready. Paste the snippet into your site."))
            elif kind == "telegram":
                token = (request.POST.get("bot_token") or "").strip()
                if not adapters.TELEGRAM_TOKEN_RE.match(token):
                    context = self.get_context_data(
                        telegram_error=_("This does not look like a bot token from BotFather.")
                    )
                    return self.render_to_response(context, status=400)
                adapters.telegram_connect(merchant=self.merchant, actor=request.user, bot_token=token)
                messages.success(request, _("Telegram connected."))
            elif kind in adapters.META_KIND_LABELS:
                fields = {name: (request.POST.get(name) or "").strip() for name in adapters.META_FIELDS[kind]}
                missing = [name for name, value in fields.items() if not value]
                if missing:
                    context = self.get_context_data(meta_error=_("Fill in every field."), meta_kind=kind)
                    return self.render_to_response(context, status=400)
                adapters.meta_connect(merchant=self.merchant, actor=request.user, kind=kind, fields=fields)
                messages.success(request, _("Channel saved. Paste the callback URL and verify token in Meta."))
            else:
                return self.advance()
        except ApplicationError as exc:
            messages.error(request, error_message(exc))
        return redirect("dashboard-onboarding-step", step="channel")

    # --- test
    def context_test(self, context: dict[str, Any]) -> None:
        context["simulate_available"] = adapters.simulate_available()

    def post_test(self, request: HttpRequest) -> HttpResponse:
        if request.POST.get("action") != "ask":
            return self.advance()
        text = (request.POST.get("text") or "").strip()[:1000]
        if not text:
            context = self.get_context_data(test_error=_("Type a question first."))
            return self.render_to_response(context, status=400)
        reply = adapters.simulate(merchant=self.merchant, text=text, session_key=request.session.session_key or "")
        context = self.get_context_data(question=text, reply=reply)
        if request.htmx:
            return self.response_class(
                request=request, template="merchants/onboarding/_test_reply.html", context=context
            )
        return self.render_to_response(context)

    # --- done
    def post_done(self, request: HttpRequest) -> HttpResponse:
        return redirect("dashboard-home")
