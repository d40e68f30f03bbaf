"""Dashboard product form: page validation only (messages in the user's language); the view hands
`service_data()` to `catalog.services.product_create` / `product_update`, which re-validate."""

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from catalog.choices import ProductStatus

STATUS_LABELS = {
    ProductStatus.ACTIVE: _("Active (sold and searchable)"),
    ProductStatus.DRAFT: _("Draft (hidden)"),
    ProductStatus.ARCHIVED: _("Archived"),
}
MAX_IMAGES = 20
MAX_ATTRIBUTES = 50
MAX_TAGS = 50


def attributes_to_text(attributes: dict[str, Any]) -> str:
    lines = []
    for key, value in (attributes or {}).items():
        values = value if isinstance(value, list) else [value]
        lines.append(f"{key}: {', '.join(str(v) for v in values)}")
    return "\n".join(lines)


class ProductForm(forms.Form):
    title_ar = forms.CharField(label=_("Title (Arabic)"), max_length=300, required=False)
    title_en = forms.CharField(label=_("Title (English)"), max_length=300, required=False)
    description_ar = forms.CharField(
        label=_("Description (Arabic)"), max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    description_en = forms.CharField(
        label=_("Description (English)"), max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    sku = forms.CharField(label=_("SKU"), max_length=100)
    price = forms.DecimalField(label=_("Price"), min_value=Decimal("0"), max_digits=12, decimal_places=2)
    sale_price = forms.DecimalField(
        label=_("Sale price"),
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=_("Leave empty when the product is not on sale."),
    )
    stock = forms.IntegerField(label=_("Stock"), min_value=0, max_value=10_000_000, initial=0)
    status = forms.ChoiceField(label=_("Status"), choices=list(STATUS_LABELS.items()), initial=ProductStatus.ACTIVE)
    category = forms.ChoiceField(label=_("Category"), required=False)
    tags = forms.CharField(
        label=_("Tags"), max_length=2000, required=False, help_text=_("Separated by commas, e.g. summer, cotton.")
    )
    attributes = forms.CharField(
        label=_("Attributes"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        help_text=_("One per line: name: value, value (e.g. colour: black, white)."),
    )
    images = forms.CharField(
        label=_("Image URLs"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr"}),
        help_text=_("One https:// address per line."),
    )

    def __init__(self, *args: Any, categories: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.categories = {str(c.pk): c for c in categories}
        self.fields["category"].choices = [("", _("No category"))] + [
            (key, c.name_ar or c.name_en or c.slug) for key, c in self.categories.items()
        ]

    def clean_sku(self) -> str:
        sku = self.cleaned_data["sku"].strip()
        if not sku:
            raise ValidationError(_("This field is required."), code="required")
        return sku

    def clean_category(self) -> Any:
        value = self.cleaned_data.get("category") or ""
        return self.categories.get(value) if value else None

    def clean_tags(self) -> list[str]:
        tags = [t.strip() for t in (self.cleaned_data.get("tags") or "").split(",") if t.strip()]
        if len(tags) > MAX_TAGS:
            raise ValidationError(_("At most %(n)s tags.") % {"n": MAX_TAGS})
        if any(len(t) > 100 for t in tags):
            raise ValidationError(_("A tag can have at most 100 characters."))
        return list(dict.fromkeys(tags))

    def clean_attributes(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for number, line in enumerate((self.cleaned_data.get("attributes") or "").splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, raw = line.partition(":")
            key = key.strip()
            values = [v.strip() for v in raw.split(",") if v.strip()]
            if not sep or not key or not values:
                raise ValidationError(
                    _("Line %(line)s: write the attribute as name: value.") % {"line": number}, code="invalid"
                )
            if len(key) > 100 or any(len(v) > 200 for v in values):
                raise ValidationError(_("Line %(line)s is too long.") % {"line": number}, code="invalid")
            result[key] = values[0] if len(values) == 1 else values
        if len(result) > MAX_ATTRIBUTES:
            raise ValidationError(_("At most %(n)s attributes.") % {"n": MAX_ATTRIBUTES})
        return result

    def clean_images(self) -> list[str]:
        validate = URLValidator(schemes=["http", "https"])
        urls = [u.strip() for u in (self.cleaned_data.get("images") or "").splitlines() if u.strip()]
        if len(urls) > MAX_IMAGES:
            raise ValidationError(_("At most %(n)s images.") % {"n": MAX_IMAGES})
        for url in urls:
            try:
                validate(url)
            except ValidationError:
                raise ValidationError(_("Not a valid web address: %(url)s") % {"url": url[:100]}) from None
            if len(url) > 1000:
                raise ValidationError(_("An image address can have at most 1000 characters."))
        return list(dict.fromkeys(urls))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("title_ar") or "").strip() and not (data.get("title_en") or "").strip():
            self.add_error("title_ar", _("Give the product a title in Arabic or English."))
        price, sale_price = data.get("price"), data.get("sale_price")
        if price is not None and sale_price is not None and sale_price > price:
            self.add_error("sale_price", _("The sale price cannot be higher than the price."))
        return data

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for key in ("title_ar", "title_en", "description_ar", "description_en"):
            data[key] = data[key].strip()
        return data

    @classmethod
    def initial_for(cls, product: Any) -> dict[str, Any]:
        return {
            "title_ar": product.title_ar,
            "title_en": product.title_en,
            "description_ar": product.description_ar,
            "description_en": product.description_en,
            "sku": product.sku,
            "price": product.price,
            "sale_price": product.sale_price,
            "stock": product.stock,
            "status": product.status,
            "category": str(product.category_id or ""),
            "tags": ", ".join(product.tags or []),
            "attributes": attributes_to_text(product.attributes),
            "images": "\n".join(str(u) for u in product.images or []),
        }
