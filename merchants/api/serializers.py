from django.utils import timezone
from rest_framework import serializers

from kaleem.core.stored import aware_datetime, json_document, uuid_text
from kaleem.tenancy.roles import Role
from merchants.models import ApiToken, AuditLog, Language, Membership, Merchant


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(min_length=8, max_length=128, write_only=True)
    store_name = serializers.CharField(max_length=200)
    language = serializers.ChoiceField(choices=Language.choices, default=Language.AR)


class LoginInput(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(max_length=128, write_only=True)
    merchant = serializers.CharField(required=False, allow_blank=True, max_length=80)


class RefreshInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField(required=False, max_length=4096)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class MerchantOutput(serializers.ModelSerializer):
    class Meta:
        model = Merchant
        fields = [
            "id",
            "name",
            "slug",
            "default_language",
            "timezone",
            "currency",
            "status",
            "description",
            "website_url",
            "support_email",
            "support_phone",
            "logo_url",
            "onboarding_step",
            "payment_link_template",
            "created_at",
        ]


class MerchantUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    default_language = serializers.ChoiceField(choices=Language.choices, required=False)
    timezone = serializers.CharField(max_length=64, required=False)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    website_url = serializers.URLField(required=False, allow_blank=True)
    support_email = serializers.EmailField(required=False, allow_blank=True)
    support_phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    logo_url = serializers.URLField(required=False, allow_blank=True)
    onboarding_step = serializers.CharField(required=False, allow_blank=True, max_length=32)
    payment_link_template = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="https URL with {order_number} or {order_id} (and optionally {amount}, {currency}) sent to "
        "customers who choose the payment-link method; empty turns the method off",
    )

    def validate_timezone(self, value: str) -> str:
        import zoneinfo

        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError("Unknown time zone.")
        return value


class MembershipOutput(serializers.ModelSerializer):
    merchant = MerchantOutput()

    class Meta:
        model = Membership
        fields = ["id", "role", "merchant"]


class UserOutput(serializers.Serializer):
    id = serializers.CharField()
    email = serializers.EmailField(allow_blank=True)
    username = serializers.CharField()


class MeOutput(serializers.Serializer):
    user = UserOutput()
    memberships = MembershipOutput(many=True)
    current_merchant = MerchantOutput(allow_null=True)
    role = serializers.ChoiceField(choices=Role.choices, allow_null=True)


class RegisterOutput(TokenPairOutput):
    merchant = MerchantOutput()
    user = UserOutput()


class TeamMemberOutput(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "created_at"]


class TeamMemberInput(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class TeamRoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class ApiTokenOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "role", "created_at", "last_used_at", "expires_at", "revoked_at"]


class ApiTokenCreatedOutput(ApiTokenOutput):
    key = serializers.CharField(help_text="Shown once; store it now.")

    class Meta(ApiTokenOutput.Meta):
        fields = [*ApiTokenOutput.Meta.fields, "key"]


# an API token never carries the owner role
API_TOKEN_ROLE_CHOICES = [(r.value, r.label) for r in (Role.ADMIN, Role.AGENT, Role.VIEWER)]


class ApiTokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=API_TOKEN_ROLE_CHOICES, default=Role.AGENT)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


def audit_log_rows_output(rows: list[dict]) -> list[dict]:
    """AuditLogOutput's representation once rendered, built from `selectors.audit_log_rows` dicts without
    per-field serializer machinery: times stay datetime objects for the API renderer to encode in C, the
    id and the data document are emitted as stored (a test keeps the rendered JSON equal to the
    serializer's)."""
    tz = timezone.get_current_timezone()
    return [
        {
            "id": uuid_text(row["stored_id"]),
            "action": row["action"],
            "actor": row["actor_email"],
            "target_type": row["target_type"],
            "target_id": row["target_id"],
            "data": json_document(row["stored_data"]),
            "ip_address": row["ip_address"],
            "created_at": aware_datetime(row["stored_created_at"]).astimezone(tz),
        }
        for row in rows
    ]


class AuditLogOutput(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.email", default=None)

    class Meta:
        model = AuditLog
        fields = ["id", "action", "actor", "target_type", "target_id", "data", "ip_address", "created_at"]
