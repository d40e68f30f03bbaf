"""Dashboard forms: validation and labels only; views hand cleaned_data to merchants.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kaleem.tenancy.roles import Role

ROLE_LABELS = {
    Role.OWNER: _("Owner"),
    Role.ADMIN: _("Admin"),
    Role.AGENT: _("Agent"),
    Role.VIEWER: _("Viewer"),
}
LANGUAGE_CHOICES = [("ar", "العربية"), ("en", "English")]
CURRENCY_CHOICES = [
    ("SAR", _("Saudi riyal (SAR)")),
    ("AED", _("UAE dirham (AED)")),
    ("KWD", _("Kuwaiti dinar (KWD)")),
    ("QAR", _("Qatari riyal (QAR)")),
    ("BHD", _("Bahraini dinar (BHD)")),
    ("OMR", _("Omani rial (OMR)")),
    ("EGP", _("Egyptian pound (EGP)")),
    ("JOD", _("Jordanian dinar (JOD)")),
    ("USD", _("US dollar (USD)")),
    ("EUR", _("Euro (EUR)")),
]
TIMEZONE_CHOICES = [
    ("Asia/Riyadh", _("Riyadh")),
    ("Asia/Dubai", _("Dubai")),
    ("Asia/Kuwait", _("Kuwait")),
    ("Asia/Qatar", _("Doha")),
    ("Asia/Bahrain", _("Manama")),
    ("Asia/Muscat", _("Muscat")),
    ("Africa/Cairo", _("Cairo")),
    ("Asia/Amman", _("Amman")),
    ("Europe/London", _("London")),
    ("UTC", _("UTC")),
]


def role_choices(*, actor_role: str) -> list[tuple[str, str]]:
    """Only an owner may hand out the owner role."""
    roles = [Role.VIEWER, Role.AGENT, Role.ADMIN] + ([Role.OWNER] if actor_role == Role.OWNER else [])
    return [(r.value, ROLE_LABELS[r]) for r in roles]


class SignupForm(forms.Form):
    store_name = forms.CharField(label=_("Store name"), max_length=200)
    email = forms.EmailField(label=_("Email"), max_length=254)
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        min_length=8,
        max_length=128,
        help_text=_("At least 8 characters, not a common password."),
    )
    language = forms.ChoiceField(label=_("Store language"), choices=LANGUAGE_CHOICES, initial="ar")

    def clean_store_name(self) -> str:
        name = self.cleaned_data["store_name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a store name."))
        return name


class StoreProfileForm(forms.Form):
    name = forms.CharField(label=_("Store name"), max_length=200)
    default_language = forms.ChoiceField(label=_("Default language"), choices=LANGUAGE_CHOICES)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A sentence or two the assistant can use to introduce the store."),
    )
    website_url = forms.URLField(label=_("Website"), required=False, max_length=200, assume_scheme="https")
    support_email = forms.EmailField(label=_("Support email"), required=False)
    support_phone = forms.RegexField(
        label=_("Support phone"),
        required=False,
        max_length=32,
        regex=r"^\+?[0-9 ()-]{6,31}$",
        error_messages={"invalid": _("Enter a phone number with digits only, optionally starting with +.")},
    )
    logo_url = forms.URLField(label=_("Logo URL"), required=False, max_length=200, assume_scheme="https")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a store name."))
        return name


class StoreSettingsForm(StoreProfileForm):
    """The settings page's profile form: the onboarding fields plus the payment link."""

    payment_link_template = forms.CharField(
        label=_("Payment link"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"dir": "ltr", "placeholder": "https://"}),
        help_text=_(
            "Optional: the https link of your payment page, with the placeholders listed below. When set, "
            "customers can choose to pay by link at checkout and receive the link after ordering."
        ),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, actor_role: str, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(actor_role=actor_role)
        self.fields["role"].initial = Role.AGENT


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, actor_role: str, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(actor_role=actor_role)


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What will use this token, e.g. n8n."))
    role = forms.ChoiceField(label=_("Role"))
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=_("Leave empty for a token that does not expire."),
    )

    def __init__(self, *args, actor_role: str, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        # a token never carries more power than an admin; owners act in person
        self.fields["role"].choices = [(r.value, ROLE_LABELS[r]) for r in (Role.VIEWER, Role.AGENT, Role.ADMIN)]
        self.fields["role"].initial = Role.AGENT


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), required=False, max_length=64)
