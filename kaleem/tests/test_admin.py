"""Staff admin: every tenant model is filterable by merchant; read-only where services own the rows;
the outbox admin replays dead letters through the service."""

import pytest
from django.contrib import admin
from django.db import models
from django.urls import reverse

from kaleem.admin import MerchantScopedAdmin
from kaleem.models import OutboxEvent
from kaleem.outbox import emit
from kaleem.testing.factories import MerchantFactory, UserFactory
from merchants.models import ApiToken, AuditLog
from merchants.services import api_token_create, audit


def _tenant_fk(model):
    try:
        field = model._meta.get_field("merchant")
    except Exception:
        return False
    return isinstance(field, models.ForeignKey)


def test_forgotten_base_class_is_added_without_losing_the_authors_options():
    from django.contrib.admin import AdminSite, ModelAdmin

    from kaleem.admin import scope_tenant_admins
    from merchants.models import ApiToken as Model

    class PlainAdmin(ModelAdmin):
        list_display = ["name", "role"]
        list_filter = ["role"]
        list_per_page = 7

    site = AdminSite(name="scratch")
    site.register(Model, PlainAdmin)
    assert scope_tenant_admins(site) == ["merchants.ApiToken"]
    scoped = site._registry[Model]
    assert isinstance(scoped, MerchantScopedAdmin) and isinstance(scoped, PlainAdmin)
    assert scoped.list_per_page == 7
    assert scoped.get_list_display(None) == ["name", "role", "merchant"]
    filters = scoped.get_list_filter(None)
    assert filters[0][0] == "merchant" and "role" in filters
    assert scope_tenant_admins(site) == []  # idempotent


def test_every_admin_of_a_tenant_model_is_merchant_scoped():
    """Explicitly (subclass) or by scope_tenant_admins() at start-up, which wraps forgotten ones."""
    offenders = [
        f"{model._meta.label} ({type(model_admin).__name__})"
        for model, model_admin in admin.site._registry.items()
        if _tenant_fk(model) and not isinstance(model_admin, MerchantScopedAdmin)
    ]
    assert not offenders, "tenant models must use kaleem.admin.MerchantScopedAdmin: " + ", ".join(offenders)


@pytest.fixture
def staff(client, db):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_every_merchant_scoped_changelist_renders_with_a_merchant_filter(staff):
    merchant = MerchantFactory(name="Filterable Store")
    audit(merchant=merchant, actor=None, action="test.row")
    checked = 0
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, MerchantScopedAdmin):
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        r = staff.get(url)
        assert r.status_code == 200, url
        assert "merchant" in str(model_admin.get_list_filter(r.wsgi_request)[0])
        checked += 1
    assert checked >= 4
    r = staff.get(reverse("admin:merchants_auditlog_changelist"))
    assert "Filterable Store" in r.content.decode()  # shown as the merchant filter choice and column
    r = staff.get(reverse("admin:merchants_auditlog_changelist"), {"merchant__id__exact": str(merchant.pk)})
    assert r.status_code == 200


def test_audit_log_is_read_only_and_token_hash_cannot_be_edited(staff):
    merchant = MerchantFactory()
    entry = audit(merchant=merchant, actor=None, action="test.readonly")
    token, key = api_token_create(merchant=merchant, actor=None, name="t", role="agent")
    assert staff.get(reverse("admin:merchants_auditlog_add")).status_code == 403
    r = staff.post(reverse("admin:merchants_auditlog_change", args=[entry.pk]), {"action": "forged"})
    assert r.status_code == 403
    assert AuditLog.objects.get(pk=entry.pk).action == "test.readonly"
    assert staff.get(reverse("admin:merchants_apitoken_add")).status_code == 403
    page = staff.get(reverse("admin:merchants_apitoken_change", args=[token.pk])).content.decode()
    assert token.key_hash in page  # visible for support …
    assert 'name="key_hash"' not in page  # … but not an input
    assert key not in page


def test_outbox_admin_replays_dead_letters(staff):
    dead = emit(merchant=MerchantFactory(), event_type="test.admin", payload={})
    done = emit(merchant=None, event_type="test.admin", payload={})
    OutboxEvent.objects.filter(id=dead.id).update(state=OutboxEvent.State.DEAD, attempts=8, last_error="boom")
    OutboxEvent.objects.filter(id=done.id).update(state=OutboxEvent.State.DONE)
    r = staff.post(
        reverse("admin:kaleem_outboxevent_changelist"),
        {"action": "replay_dead_letters", "_selected_action": [str(dead.id), str(done.id)]},
        follow=True,
    )
    assert r.status_code == 200
    dead.refresh_from_db()
    assert dead.state in (OutboxEvent.State.PENDING, OutboxEvent.State.DONE)
    assert dead.attempts in (0, 1) and dead.last_error == ""
    assert OutboxEvent.objects.get(id=done.id).state == OutboxEvent.State.DONE
    assert "1 dead letter(s) queued" in r.content.decode()


def test_admin_revoke_action_calls_the_service(staff):
    merchant = MerchantFactory()
    token, _key = api_token_create(merchant=merchant, actor=None, name="t", role="agent")
    staff.post(
        reverse("admin:merchants_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [str(token.pk)]},
    )
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditLog.objects.filter(merchant=merchant, action="api_token.revoked").exists()
