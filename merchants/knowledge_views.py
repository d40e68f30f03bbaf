"""Dashboard knowledge editor: policies, FAQs and documents the assistant answers from, a
"what would the assistant answer?" preview, and the answer-gap list that turns unanswered
customer questions into FAQs. Writes go through merchants.knowledge.services."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kaleem.core.errors import ApplicationError
from kaleem.tenancy.roles import Role
from merchants import onboarding_adapters as adapters
from merchants.knowledge import selectors as knowledge_selectors
from merchants.knowledge import services as knowledge_services
from merchants.views import DashboardPage, _uuid_or_404, error_message

KNOWLEDGE_LANGUAGES = [("ar", "العربية"), ("en", "English")]
POLICY_KIND_LABELS = {
    "shipping": gettext_lazy("Shipping"),
    "returns": gettext_lazy("Returns"),
    "exchange": gettext_lazy("Exchange"),
    "payment": gettext_lazy("Payment"),
    "delivery_areas": gettext_lazy("Delivery areas"),
    "working_hours": gettext_lazy("Working hours"),
    "contact": gettext_lazy("Contact"),
    "other": gettext_lazy("Other"),
}
DOCUMENT_STATE_LABELS = {
    "processing": gettext_lazy("Processing"),
    "ready": gettext_lazy("Ready"),
    "no_text": gettext_lazy("No extractable text"),
    "failed": gettext_lazy("Failed"),
}


class PolicyForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=list(POLICY_KIND_LABELS.items()))
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    body = forms.CharField(label=gettext_lazy("Text"), max_length=20000, widget=forms.Textarea(attrs={"rows": 5}))
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=KNOWLEDGE_LANGUAGES)


class FaqForm(forms.Form):
    question = forms.CharField(label=gettext_lazy("Question"), max_length=500)
    answer = forms.CharField(label=gettext_lazy("Answer"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=KNOWLEDGE_LANGUAGES)


class DocumentForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"), help_text=gettext_lazy("PDF, Word, text or Markdown, up to the size limit.")
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200, required=False)
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=KNOWLEDGE_LANGUAGES)


class PreviewForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Customer question"), max_length=1000)


def _prefixed(form_class: type[forms.Form], prefix: str, merchant: Any, data: Any = None, **kw: Any) -> forms.Form:
    initial = {"language": merchant.default_language}
    return form_class(data, prefix=prefix, initial=initial, **kw)


class KnowledgeView(DashboardPage):
    template_name = "merchants/knowledge/index.html"
    nav_section = "knowledge"
    read_role = Role.VIEWER
    write_role = Role.ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        policies = list(knowledge_selectors.policy_list(merchant=self.merchant).order_by("kind", "title"))
        for p in policies:
            p.kind_label = POLICY_KIND_LABELS.get(p.kind, p.kind)
        documents = list(knowledge_selectors.document_list(merchant=self.merchant).order_by("-created_at")[:100])
        for d in documents:
            d.state_label = DOCUMENT_STATE_LABELS.get(d.state, d.state)
        context.update(
            policies=policies,
            faqs=list(knowledge_selectors.faq_list(merchant=self.merchant).order_by("-created_at")[:200]),
            documents=documents,
            can_edit=self.can(Role.ADMIN),
            simulate_available=adapters.simulate_available(),
        )
        context.setdefault("policy_form", _prefixed(PolicyForm, "policy", self.merchant))
        context.setdefault("faq_form", _prefixed(FaqForm, "faq", self.merchant))
        context.setdefault("document_form", _prefixed(DocumentForm, "doc", self.merchant))
        context.setdefault("preview_form", PreviewForm(prefix="preview"))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        action = request.POST.get("action", "")
        handler = {
            "policy": self._create_policy,
            "faq": self._create_faq,
            "document": self._upload,
            "delete": self._delete,
        }.get(action)
        if handler is None:
            return HttpResponse(status=400)
        return handler(request)

    def _invalid(self, **forms_: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(**forms_), status=400)

    def _create_policy(self, request: HttpRequest) -> HttpResponse:
        form = _prefixed(PolicyForm, "policy", self.merchant, request.POST)
        if not form.is_valid():
            return self._invalid(policy_form=form)
        try:
            knowledge_services.policy_create(merchant=self.merchant, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, error_message(exc))
            return self._invalid(policy_form=form)
        messages.success(request, _("Policy saved."))
        return redirect("dashboard-knowledge")

    def _create_faq(self, request: HttpRequest) -> HttpResponse:
        form = _prefixed(FaqForm, "faq", self.merchant, request.POST)
        if not form.is_valid():
            return self._invalid(faq_form=form)
        try:
            knowledge_services.faq_create(merchant=self.merchant, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, error_message(exc))
            return self._invalid(faq_form=form)
        messages.success(request, _("FAQ saved."))
        return redirect("dashboard-knowledge")

    def _upload(self, request: HttpRequest) -> HttpResponse:
        form = _prefixed(DocumentForm, "doc", self.merchant, request.POST, files=request.FILES)
        if not form.is_valid():
            return self._invalid(document_form=form)
        upload = form.cleaned_data["file"]
        try:
            knowledge_services.document_upload(
                merchant=self.merchant,
                actor=request.user,
                filename=upload.name,
                data=upload.read(),
                title=form.cleaned_data.get("title") or "",
                language=form.cleaned_data["language"],
            )
        except ApplicationError as exc:
            form.add_error("file", _document_error(exc))
            return self._invalid(document_form=form)
        messages.success(request, _("Document uploaded; it becomes searchable in a moment."))
        return redirect("dashboard-knowledge")

    def _delete(self, request: HttpRequest) -> HttpResponse:
        kind = request.POST.get("kind")
        object_id = _uuid_or_404(request.POST.get("id"))
        deleters = {
            "policy": lambda: knowledge_services.policy_delete(
                merchant=self.merchant, actor=request.user, policy_id=object_id
            ),
            "faq": lambda: knowledge_services.faq_delete(merchant=self.merchant, actor=request.user, faq_id=object_id),
            "document": lambda: knowledge_services.document_delete(
                merchant=self.merchant, actor=request.user, document_id=object_id
            ),
        }
        if kind not in deleters:
            return HttpResponse(status=400)
        deleters[kind]()  # NotFoundError (another store's id) becomes a 404 in DashboardMixin
        messages.success(request, _("Deleted."))
        return redirect("dashboard-knowledge")


def _document_error(exc: ApplicationError) -> str:
    if exc.code == "payload_too_large":
        return _("The file is too large.")
    if exc.code in ("unsupported_media_type", "invalid"):
        return _("This file type is not supported. Upload PDF, Word, text or Markdown.")
    return error_message(exc)


class KnowledgeEditView(DashboardPage):
    """Edit one policy or FAQ."""

    template_name = "merchants/knowledge/edit.html"
    nav_section = "knowledge"
    read_role = Role.ADMIN

    def get_object(self) -> Any:
        kind = self.kwargs["kind"]
        object_id = _uuid_or_404(self.kwargs["pk"])
        if kind == "policy":
            obj = knowledge_selectors.policy_list(merchant=self.merchant).filter(id=object_id).first()
        elif kind == "faq":
            obj = knowledge_selectors.faq_list(merchant=self.merchant).filter(id=object_id).first()
        else:
            obj = None
        if obj is None:
            raise Http404
        return obj

    def make_form(self, obj: Any, data: Any = None) -> forms.Form:
        if self.kwargs["kind"] == "policy":
            initial = {"kind": obj.kind, "title": obj.title, "body": obj.body, "language": obj.language}
            return PolicyForm(data, initial=initial)
        return FaqForm(data, initial={"question": obj.question, "answer": obj.answer, "language": obj.language})

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        return self.render_to_response(self.get_context_data(form=self.make_form(obj), obj=obj, kind=kwargs["kind"]))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        form = self.make_form(obj, request.POST)
        if form.is_valid():
            if kwargs["kind"] == "policy":
                knowledge_services.policy_update(
                    merchant=self.merchant, actor=request.user, policy_id=obj.pk, data=form.cleaned_data
                )
            else:
                knowledge_services.faq_update(
                    merchant=self.merchant, actor=request.user, faq_id=obj.pk, data=form.cleaned_data
                )
            messages.success(request, _("Saved."))
            return redirect("dashboard-knowledge")
        return self.render_to_response(self.get_context_data(form=form, obj=obj, kind=kwargs["kind"]), status=400)


class KnowledgePreviewView(DashboardPage):
    """htmx: what the assistant would answer to a customer question (nothing is sent)."""

    template_name = "merchants/knowledge/_preview.html"
    read_role = Role.VIEWER
    write_role = Role.VIEWER  # a read-only simulation; POST only to carry the CSRF token

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PreviewForm(request.POST, prefix="preview")
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(preview_form=form), status=400)
        text = form.cleaned_data["text"]
        reply = adapters.simulate(merchant=self.merchant, text=text, session_key="")
        hits = []
        if reply is None:
            hits = knowledge_selectors.knowledge_search(merchant=self.merchant, query=text, limit=3)
        return self.render_to_response(self.get_context_data(question=text, reply=reply, hits=hits))


# --- answer gaps -----------------------------------------------------------------------------


def _gap_groups(merchant: Any) -> list[dict[str, Any]]:
    from conversations.dashboard_selectors import answer_gap_groups

    return answer_gap_groups(merchant=merchant)


class AnswerGapsView(DashboardPage):
    template_name = "merchants/knowledge/gaps.html"
    nav_section = "knowledge"
    read_role = Role.VIEWER
    write_role = Role.ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        groups = _gap_groups(self.merchant)
        for g in groups:
            g["form"] = FaqForm(
                prefix=f"g{g['sample'].pk}",
                initial={
                    "question": g["sample"].question,
                    "language": g["sample"].language or self.merchant.default_language,
                },
            )
        context.update(groups=groups, can_edit=self.can(Role.ADMIN))
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from conversations.models import AnswerGap

        gap_id = _uuid_or_404(request.POST.get("gap"))
        if not AnswerGap.objects.for_merchant(self.merchant).filter(id=gap_id).exists():
            raise Http404
        form = FaqForm(request.POST, prefix=f"g{gap_id}")
        if not form.is_valid():
            context = self.get_context_data()
            for g in context["groups"]:
                if str(g["sample"].pk) == gap_id:
                    g["form"] = form
            return self.render_to_response(context, status=400)
        try:
            knowledge_services.faq_create_from_gap(
                merchant=self.merchant, actor=request.user, gap_id=gap_id, **form.cleaned_data
            )
        except ApplicationError as exc:
            if exc.code != "already_resolved":
                raise
            messages.info(request, _("This question was already answered."))
            return redirect("dashboard-knowledge-gaps")
        messages.success(request, _("FAQ created; the assistant will use it from now on."))
        return redirect("dashboard-knowledge-gaps")
