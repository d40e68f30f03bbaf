"""Dashboard pages of the merchants app: login/sign-up, the shell, store switcher, settings.

`DashboardMixin` is the base every dashboard page (any app) uses: it requires a login and a
membership of the store chosen in the session, checks the view's minimum role for reading
(`read_role`) and for writing (`write_role`), and exposes `self.merchant` / `self.role`."""

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from kaleem.core.errors import ApplicationError, NotFoundError
from kaleem.tenancy.context import set_current_merchant_id
from kaleem.tenancy.middleware import SESSION_KEY
from kaleem.tenancy.roles import Role, role_at_least
from merchants import selectors, services
from merchants.forms import (
    ROLE_LABELS,
    ApiTokenForm,
    AuditFilterForm,
    InviteForm,
    RoleForm,
    SignupForm,
    StoreSettingsForm,
)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Service errors carry English messages for the API; pages show them in the user's language.
ERROR_MESSAGES = {
    "already_member": gettext_lazy("This person is already a member of the store."),
    "last_owner": gettext_lazy("A store needs at least one owner."),
    "permission_denied": gettext_lazy("Only an owner can change owners."),
    "email_taken": gettext_lazy("An account with this email already exists."),
    "not_found": gettext_lazy("Not found."),
    "provider_error": gettext_lazy("The provider refused the connection. Check the credentials and try again."),
    "invalid": gettext_lazy("Some of the values are missing or invalid."),
}


def error_message(exc: ApplicationError) -> str:
    return str(ERROR_MESSAGES.get(exc.code, exc.message))


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


class DashboardMixin(LoginRequiredMixin):
    """Login + membership + minimum role. Objects must be fetched through `self.merchant`;
    another store's object is not found (404)."""

    read_role: str = Role.VIEWER
    write_role: str = Role.ADMIN
    nav_section: str = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = request.page_membership
        if not membership and request.session.get(SESSION_KEY):
            # the chosen store went away (removed from the team, store closed): fall back to another
            request.session.pop(SESSION_KEY, None)
            membership = selectors.membership_resolve(user=request.user, merchant_ref=None)
            request.page_membership = membership
        if not membership:
            return redirect("dashboard-no-store")
        self.membership = membership
        self.merchant = membership.merchant
        self.role = membership.role
        set_current_merchant_id(self.merchant.pk)
        needed = self.read_role if request.method in SAFE_METHODS else self.write_role
        if not role_at_least(self.role, needed):
            raise PermissionDenied
        try:
            return super().dispatch(request, *args, **kwargs)
        except NotFoundError as exc:
            # services answer "not found" for another store's object: the page is simply missing
            raise Http404 from exc

    def can(self, minimum: str) -> bool:
        return role_at_least(self.role, minimum)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(nav_section=self.nav_section, merchant=self.merchant, role=self.role)
        return context


class DashboardPage(DashboardMixin, TemplateView):
    pass


# --- sign-up, store choice -------------------------------------------------------------------


class SignupView(View):
    template_name = "merchants/signup.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            return redirect("dashboard-home")
        return render(request, self.template_name, {"form": SignupForm(initial={"language": request.LANGUAGE_CODE})})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SignupForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user, merchant = services.owner_register(
                    email=data["email"],
                    password=data["password"],
                    store_name=data["store_name"],
                    language=data["language"],
                )
            except ApplicationError as exc:
                for field, errors in (exc.fields or {}).items():
                    if field in form.fields:
                        for err in errors:
                            form.add_error(field, _(err) if exc.code != "email_taken" else error_message(exc))
                if not exc.fields:
                    form.add_error(None, error_message(exc))
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                request.session[SESSION_KEY] = str(merchant.pk)
                services.merchant_update(merchant=merchant, actor=user, data={"onboarding_step": "profile"})
                return redirect("dashboard-onboarding")
        return render(request, self.template_name, {"form": form}, status=400 if form.errors else 200)


class NoStoreView(LoginRequiredMixin, TemplateView):
    template_name = "merchants/no_store.html"


class SwitchMerchantView(LoginRequiredMixin, View):
    def post(self, request: HttpRequest) -> HttpResponse:
        membership = selectors.membership_resolve(user=request.user, merchant_ref=request.POST.get("merchant") or "-")
        if membership is None:
            raise Http404
        request.session[SESSION_KEY] = str(membership.merchant_id)
        return HttpResponseRedirect(safe_next(request, reverse("dashboard-home")))


# --- home ------------------------------------------------------------------------------------


class HomeView(DashboardPage):
    template_name = "merchants/home.html"
    nav_section = "home"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["onboarding_done"] = self.merchant.onboarding_step in ("", "done")
        context["team_size"] = selectors.team_member_list(merchant=self.merchant).count()
        context["summary"] = _home_summary(self.merchant)
        return context


def _home_summary(merchant: Any) -> dict[str, Any] | None:
    """Today's figures from the analytics page when the conversations area is available."""
    try:
        from conversations.dashboard_views import home_summary
    except ImportError:
        return None
    return home_summary(merchant=merchant)


# --- settings --------------------------------------------------------------------------------


class StoreProfileView(DashboardPage):
    template_name = "merchants/settings/profile.html"
    nav_section = "profile"
    read_role = Role.ADMIN

    def initial(self) -> dict[str, Any]:
        fields = StoreSettingsForm.base_fields
        return {name: getattr(self.merchant, name) for name in fields}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["ai"] = _ai_usage(self.merchant)
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=StoreSettingsForm(initial=self.initial())))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = StoreSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.merchant_update(merchant=self.merchant, actor=request.user, data=form.cleaned_data)
            except ApplicationError as exc:  # the payment link's checks live in the service
                for field, errors in (exc.fields or {"__all__": [exc.message]}).items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
                return self.render_to_response(self.get_context_data(form=form), status=400)
            messages.success(request, _("Store profile saved."))
            return redirect("dashboard-settings-profile")
        return self.render_to_response(self.get_context_data(form=form), status=400)


def _ai_usage(merchant: Any) -> dict[str, Any] | None:
    """Read-only summary: the model phrasing this store's answers (its own choice, else the
    platform's) and this month's token use against the store's budget (edited on the AI page)."""
    try:
        from integrations.ai import llm
    except ImportError:
        return None
    row = llm.store_settings_get(merchant)
    config = llm.store_llm_config(merchant=merchant, store_settings=row)
    budget = llm.store_budget(merchant=merchant, store_settings=row)
    spent = llm.tokens_spent(merchant=merchant)
    return {
        "enabled": config is not None,
        "model": config.model if config else "",
        "budget": budget,
        "spent": spent,
        "share": spent / budget if budget else None,
    }


def invite_link(request: HttpRequest, user: Any) -> str:
    """A set-password link for an invited person (Django's password-reset token: single use,
    invalidated once a password is set, expires after PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return request.build_absolute_uri(reverse("invite-accept", kwargs={"uidb64": uid, "token": token}))


class TeamView(DashboardPage):
    template_name = "merchants/settings/team.html"
    nav_section = "team"
    read_role = Role.ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        members = list(selectors.team_member_list(merchant=self.merchant))
        for m in members:
            m.role_label = ROLE_LABELS.get(m.role, m.role)
            m.editable = self.role == Role.OWNER or m.role != Role.OWNER
            m.role_form = RoleForm(initial={"role": m.role}, actor_role=self.role, prefix=f"m{m.pk}")
        context["members"] = members
        context.setdefault("invite_form", InviteForm(actor_role=self.role))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        action = request.POST.get("action")
        if action == "invite":
            return self._invite(request)
        membership = selectors.team_member_get(
            merchant=self.merchant, membership_id=_uuid_or_404(request.POST.get("membership"))
        )
        try:
            if action == "role":
                form = RoleForm(request.POST, actor_role=self.role, prefix=f"m{membership.pk}")
                if not form.is_valid():
                    messages.error(request, _("Choose a valid role."))
                    return redirect("dashboard-settings-team")
                services.member_change_role(
                    merchant=self.merchant,
                    actor=request.user,
                    membership_id=membership.pk,
                    role=form.cleaned_data["role"],
                    actor_role=self.role,
                )
                messages.success(request, _("Role updated."))
            elif action == "remove":
                services.member_remove(
                    merchant=self.merchant, actor=request.user, membership_id=membership.pk, actor_role=self.role
                )
                messages.success(request, _("Member removed."))
            else:
                return HttpResponse(status=400)
        except ApplicationError as exc:
            if exc.status_code == 403:
                raise PermissionDenied from exc
            messages.error(request, error_message(exc))
        return redirect("dashboard-settings-team")

    def _invite(self, request: HttpRequest) -> HttpResponse:
        form = InviteForm(request.POST, actor_role=self.role)
        if form.is_valid():
            try:
                membership = services.member_add(
                    merchant=self.merchant,
                    actor=request.user,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    actor_role=self.role,
                )
            except ApplicationError as exc:
                form.add_error("email", error_message(exc))
            else:
                context = self.get_context_data()
                if not membership.user.has_usable_password():
                    context["invite_url"] = invite_link(request, membership.user)
                context["invited_email"] = membership.user.email
                messages.success(request, _("Invitation created."))
                return self.render_to_response(context)
        return self.render_to_response(self.get_context_data(invite_form=form), status=400)


def _uuid_or_404(value: str | None) -> str:
    import uuid

    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise Http404 from None


class ApiTokensView(DashboardPage):
    template_name = "merchants/settings/tokens.html"
    nav_section = "tokens"
    read_role = Role.ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        tokens = list(selectors.api_token_list(merchant=self.merchant).select_related("created_by"))
        for t in tokens:
            t.role_label = ROLE_LABELS.get(t.role, t.role)
        context["tokens"] = tokens
        context["now"] = timezone.now()
        context.setdefault("form", ApiTokenForm(actor_role=self.role))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("action") == "revoke":
            token = selectors.api_token_get(merchant=self.merchant, token_id=_uuid_or_404(request.POST.get("token")))
            services.api_token_revoke(merchant=self.merchant, actor=request.user, token_id=token.pk)
            messages.success(request, _("Token revoked."))
            return redirect("dashboard-settings-tokens")
        form = ApiTokenForm(request.POST, actor_role=self.role)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        days = form.cleaned_data.get("expires_in_days")
        token, key = services.api_token_create(
            merchant=self.merchant,
            actor=request.user,
            name=form.cleaned_data["name"],
            role=form.cleaned_data["role"],
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        # the key is in this response only; it is never stored in plaintext
        response = self.render_to_response(self.get_context_data(new_key=key, new_token=token))
        response["Cache-Control"] = "no-store"
        return response


AUDIT_LABELS = {
    "merchant.registered": gettext_lazy("Store created"),
    "merchant.updated": gettext_lazy("Store profile changed"),
    "member.added": gettext_lazy("Member invited"),
    "member.role_changed": gettext_lazy("Member role changed"),
    "member.removed": gettext_lazy("Member removed"),
    "api_token.created": gettext_lazy("API token created"),
    "api_token.revoked": gettext_lazy("API token revoked"),
    "conversation.taken_over": gettext_lazy("Conversation taken over"),
    "conversation.released": gettext_lazy("Conversation released to the assistant"),
    "conversation.closed": gettext_lazy("Conversation closed"),
    "conversation.assigned": gettext_lazy("Conversation assigned"),
    "conversation.agent_replied": gettext_lazy("Agent replied"),
    "conversation.note_added": gettext_lazy("Private note added"),
    "contact.deleted": gettext_lazy("Customer data deleted"),
    "knowledge.policy_created": gettext_lazy("Policy added"),
    "knowledge.policy_updated": gettext_lazy("Policy changed"),
    "knowledge.policy_deleted": gettext_lazy("Policy deleted"),
    "knowledge.faq_created": gettext_lazy("FAQ added"),
    "knowledge.faq_updated": gettext_lazy("FAQ changed"),
    "knowledge.faq_deleted": gettext_lazy("FAQ deleted"),
    "knowledge.document_uploaded": gettext_lazy("Document uploaded"),
    "knowledge.document_updated": gettext_lazy("Document changed"),
    "knowledge.document_deleted": gettext_lazy("Document deleted"),
    "channel.created": gettext_lazy("Channel connected"),
    "channel.enabled": gettext_lazy("Channel enabled"),
    "channel.disabled": gettext_lazy("Channel disabled"),
    "channel.appearance_updated": gettext_lazy("Widget appearance changed"),
    "dead_letter.replayed": gettext_lazy("Failed send replayed"),
    "dead_letter.discarded": gettext_lazy("Failed send discarded"),
    "automation.subscribed": gettext_lazy("Automation subscription added"),
    "automation.paused": gettext_lazy("Automation subscription paused"),
    "automation.resumed": gettext_lazy("Automation subscription resumed"),
    "automation.deleted": gettext_lazy("Automation subscription deleted"),
    "platform.connected": gettext_lazy("Store platform connected"),
    "platform.disconnected": gettext_lazy("Store platform disconnected"),
    "platform.sync_started": gettext_lazy("Store platform import started"),
    "platform.reconcile_started": gettext_lazy("Store platform reconcile started"),
    "ai.settings_updated": gettext_lazy("Assistant AI settings changed"),
}


class AuditLogView(DashboardPage):
    template_name = "merchants/settings/audit.html"
    nav_section = "audit"
    read_role = Role.ADMIN
    page_size = 50

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = AuditFilterForm(self.request.GET or None)
        entries = selectors.audit_log_list(merchant=self.merchant)
        if form.is_valid() and form.cleaned_data.get("action"):
            entries = entries.filter(action__startswith=form.cleaned_data["action"].strip())
        page = Paginator(entries, self.page_size).get_page(self.request.GET.get("page"))
        for entry in page.object_list:
            entry.label = AUDIT_LABELS.get(entry.action, "")
        context.update(form=form, page=page, entries=page.object_list)
        return context
