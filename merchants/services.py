import hashlib
import logging
import secrets
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from kaleem.core.errors import ApplicationError
from kaleem.db import atomic
from kaleem.tenancy.authentication import forget_memberships
from kaleem.tenancy.roles import Role
from merchants.models import ApiToken, AuditLog, Membership, Merchant
from merchants.selectors import api_token_get, team_member_get

User = get_user_model()
API_TOKEN_PREFIX = "kal_"
logger = logging.getLogger(__name__)


def _actor_user(actor: Any) -> Any:
    """The person to record for an action. A call made with an API token is attributed to the
    member who created the token (the token itself is named in the audit data)."""
    token = getattr(actor, "token", None)
    if token is not None and isinstance(token, ApiToken):
        return token.created_by
    return actor if isinstance(actor, User) else None


def audit(
    *,
    merchant: Merchant | Any,
    actor: Any,
    action: str,
    target: Any = None,
    data: dict | None = None,
    ip_address: str | None = None,
) -> AuditLog:
    data = dict(data or {})
    token = getattr(actor, "token", None)
    if isinstance(token, ApiToken):
        data.setdefault("api_token", token.prefix)
    entry = AuditLog.objects.create(
        merchant_id=getattr(merchant, "pk", merchant),
        actor=_actor_user(actor),
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=str(getattr(target, "pk", "")) if target is not None else "",
        data=data,
        ip_address=ip_address,
    )
    # the same fact in the JSON log stream, carrying request_id / merchant_id from the context filter
    logger.info("audit %s", action, extra={"audit_action": action, "target_id": entry.target_id})
    return entry


def _unique_slug(name: str) -> str:
    base = slugify(name, allow_unicode=False)[:60] or "store"
    slug, n = base, 1
    while Merchant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def merchant_create(
    *,
    name: str,
    default_language: str = "ar",
    currency: str = "SAR",
    timezone_name: str = "Asia/Riyadh",
    slug: str | None = None,
) -> Merchant:
    merchant = Merchant(
        name=name.strip(),
        slug=slug or _unique_slug(name),
        default_language=default_language,
        currency=currency,
        timezone=timezone_name,
    )
    merchant.full_clean()
    merchant.save()
    return merchant


def owner_register(*, email: str, password: str, store_name: str, language: str = "ar") -> tuple[Any, Merchant]:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(username=email).exists():
        raise ApplicationError(
            "An account with this email already exists.",
            code="email_taken",
            fields={"email": ["An account with this email already exists."]},
        )
    try:
        validate_password(password)
    except Exception as exc:  # django ValidationError: surface its messages per field
        raise ApplicationError(
            "Password is too weak.", code="invalid", fields={"password": list(exc.messages)}
        ) from exc
    try:
        with atomic():
            user = User.objects.create_user(username=email, email=email, password=password)
            merchant = merchant_create(name=store_name, default_language=language)
            Membership.objects.create(merchant=merchant, user=user, role=Role.OWNER)
            audit(merchant=merchant, actor=user, action="merchant.registered", target=merchant)
    except IntegrityError as exc:
        raise ApplicationError("An account with this email already exists.", code="email_taken") from exc
    return user, merchant


PAYMENT_LINK_PLACEHOLDERS = ("order_number", "order_id", "amount", "currency")
PAYMENT_LINK_MAX_LENGTH = 500


def payment_link_template_clean(value: str) -> str:
    """Validate a store's payment-link URL template; returns it stripped ("" turns the method off).

    An https URL on a public host (SSRF guard, checked at save time: the link is sent to customers,
    we never fetch it), with only the placeholders {order_number}, {order_id}, {amount}, {currency}
    (no format specs, attributes or indexes: `str.format` must not reach into objects), none of them
    in the scheme or host, and at least one that identifies the order."""
    from string import Formatter
    from urllib.parse import urlsplit

    from kaleem.ssrf import UnsafeURLError, assert_public_url

    template = (value or "").strip()
    if not template:
        return ""

    def invalid(message: str) -> ApplicationError:
        return ApplicationError(message, code="invalid", fields={"payment_link_template": [message]})

    allowed = ", ".join("{" + p + "}" for p in PAYMENT_LINK_PLACEHOLDERS)
    if len(template) > PAYMENT_LINK_MAX_LENGTH:
        raise invalid(_("At most %(limit)s characters.") % {"limit": PAYMENT_LINK_MAX_LENGTH})
    if any(ch.isspace() for ch in template):
        raise invalid(_("The link must not contain spaces."))
    try:
        fields = [
            (name, spec, conversion)
            for _text, name, spec, conversion in Formatter().parse(template)
            if name is not None
        ]
    except ValueError as exc:
        raise invalid(_("Unbalanced { or } in the link.")) from exc
    for name, spec, conversion in fields:
        if name not in PAYMENT_LINK_PLACEHOLDERS or spec or conversion:
            raise invalid(_("Unknown placeholder; allowed: %(allowed)s.") % {"allowed": allowed})
    if not {"order_number", "order_id"} & {name for name, _s, _c in fields}:
        raise invalid(_("The link must contain {order_number} or {order_id} so the payment matches the order."))
    sample = template.format(order_number="K-10001", order_id="0", amount="1.00", currency="SAR")
    parts = urlsplit(sample)
    if parts.scheme != "https" or not parts.hostname:
        raise invalid(_("The link must start with https:// and name a host."))
    if parts.username or parts.password:
        raise invalid(_("The link must not contain a user name or password."))
    if "{" in template.split("//", 1)[1].split("/", 1)[0].split("?", 1)[0]:
        raise invalid(_("Placeholders are not allowed in the host name."))
    try:
        assert_public_url(sample)
    except UnsafeURLError as exc:
        raise invalid(_("The link's host must be a public internet address.")) from exc
    return template


def merchant_update(*, merchant: Merchant, actor: Any, data: dict[str, Any]) -> Merchant:
    editable = {
        "name",
        "default_language",
        "timezone",
        "currency",
        "description",
        "website_url",
        "support_email",
        "support_phone",
        "logo_url",
        "onboarding_step",
        "payment_link_template",
    }
    changed = {k: v for k, v in data.items() if k in editable}
    if "payment_link_template" in changed:
        changed["payment_link_template"] = payment_link_template_clean(changed["payment_link_template"])
    for field, value in changed.items():
        setattr(merchant, field, value)
    merchant.full_clean()
    with atomic():
        merchant.save()
        audit(
            merchant=merchant, actor=actor, action="merchant.updated", target=merchant, data={"fields": sorted(changed)}
        )
    forget_memberships()  # remembered memberships carry the merchant row
    return merchant


def member_add(
    *, merchant: Merchant, actor: Any, email: str, role: str, actor_role: str | None = Role.OWNER
) -> Membership:
    _require_owner_for_owner_change(actor_role=actor_role, target_role=role, new_role=role)
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(username=email).first()
    with atomic():
        if user is None:
            user = User.objects.create_user(username=email, email=email, password=None)
        try:
            with atomic():
                membership = Membership.objects.create(merchant=merchant, user=user, role=role)
        except IntegrityError as exc:
            raise ApplicationError("This person is already a member of the store.", code="already_member") from exc
        audit(merchant=merchant, actor=actor, action="member.added", target=membership, data={"role": role})
    return membership


def _require_owner_for_owner_change(*, actor_role: str | None, target_role: str, new_role: str | None) -> None:
    """Only an owner may grant the owner role or change/remove an existing owner."""
    if actor_role == Role.OWNER:
        return
    if target_role == Role.OWNER or new_role == Role.OWNER:
        raise ApplicationError("Only an owner can change owners.", code="permission_denied", status_code=403)


def member_change_role(
    *, merchant: Merchant, actor: Any, membership_id: Any, role: str, actor_role: str | None = Role.OWNER
) -> Membership:
    membership = team_member_get(merchant=merchant, membership_id=membership_id)
    _require_owner_for_owner_change(actor_role=actor_role, target_role=membership.role, new_role=role)
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(merchant) <= 1:
        raise ApplicationError("A store needs at least one owner.", code="last_owner")
    with atomic():
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
        audit(merchant=merchant, actor=actor, action="member.role_changed", target=membership, data={"role": role})
    forget_memberships()
    return membership


def member_remove(*, merchant: Merchant, actor: Any, membership_id: Any, actor_role: str | None = Role.OWNER) -> None:
    membership = team_member_get(merchant=merchant, membership_id=membership_id)
    _require_owner_for_owner_change(actor_role=actor_role, target_role=membership.role, new_role=None)
    if membership.role == Role.OWNER and _owner_count(merchant) <= 1:
        raise ApplicationError("A store needs at least one owner.", code="last_owner")
    with atomic():
        membership.delete()
        audit(merchant=merchant, actor=actor, action="member.removed", target=membership)
    forget_memberships()


def _owner_count(merchant: Merchant) -> int:
    return Membership.objects.for_merchant(merchant).filter(role=Role.OWNER).count()


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(
    *, merchant: Merchant, actor: Any, name: str, role: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Returns the token row and the plaintext key, which is never stored and shown only now."""
    key = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with atomic():
        token = ApiToken.objects.create(
            merchant=merchant,
            name=name,
            prefix=key[:12],
            key_hash=hash_api_key(key),
            role=role,
            created_by=_actor_user(actor),
            expires_at=expires_at,
        )
        audit(merchant=merchant, actor=actor, action="api_token.created", target=token, data={"role": role})
    return token, key


def api_token_revoke(*, merchant: Merchant, actor: Any, token_id: Any) -> ApiToken:
    token = api_token_get(merchant=merchant, token_id=token_id)
    with atomic():
        ApiToken.objects.filter(id=token.id, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit(merchant=merchant, actor=actor, action="api_token.revoked", target=token)
    token.refresh_from_db()
    return token


def api_token_authenticate(*, key: str) -> ApiToken | None:
    if not key.startswith(API_TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.filter(key_hash=hash_api_key(key), revoked_at__isnull=True)
        .select_related("merchant", "created_by")
        .first()
    )
    if token is None or (token.expires_at and token.expires_at <= timezone.now()):
        return None
    if token.merchant.status != Merchant.Status.ACTIVE:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(id=token.id).update(last_used_at=now)
    return token
