from decimal import Decimal

import factory

from catalog.models import Category, Product
from kaleem.testing.factories import MerchantFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    merchant = factory.SubFactory(MerchantFactory)
    slug = factory.Sequence(lambda n: f"cat-{n}")
    name_ar = factory.Sequence(lambda n: f"تصنيف {n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    """Plain rows (no outbox event): use catalog.services.product_create when the index matters."""

    class Meta:
        model = Product

    merchant = factory.SubFactory(MerchantFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    title_ar = "منتج تجريبي"
    title_en = factory.Sequence(lambda n: f"Test product {n}")
    price = Decimal("100.00")
    stock = 5
