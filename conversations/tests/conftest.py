from decimal import Decimal

import pytest

from conversations.tests.factories import ChannelFactory
from kaleem.testing.factories import MerchantFactory

PRODUCTS = [
    # sku, title_ar, title_en, price, sale, stock, colour, sizes
    ("AB-1", "عباية سوداء كلاسيكية", "Classic black abaya", "350", "299", 25, "أسود", ["52", "54"]),
    ("AB-2", "عباية ملونة كحلي", "Navy coloured abaya", "420", None, 10, "كحلي", ["52", "54", "56"]),
    ("SH-1", "سنيكرز أبيض كلاسيك", "Classic white sneakers", "199", "169", 22, "أبيض", ["40", "41", "42"]),
    ("SH-2", "حذاء جري رجالي خفيف", "Men's lightweight running shoes", "289", None, 0, "أسود", ["42", "43"]),
    ("PF-1", "عطر عود ملكي", "Royal oud perfume", "650", None, 15, "ذهبي", []),
]


def make_products(merchant):
    from catalog.search.indexing import index_products
    from catalog.services import product_create

    ids = []
    for sku, t_ar, t_en, price, sale, stock, colour, sizes in PRODUCTS:
        attributes = {"colour": colour}
        if sizes:
            attributes["size"] = sizes
        product = product_create(
            merchant=merchant,
            data={
                "sku": sku,
                "title_ar": t_ar,
                "title_en": t_en,
                "description_ar": t_ar,
                "description_en": t_en,
                "price": Decimal(price),
                "sale_price": Decimal(sale) if sale else None,
                "currency": "SAR",
                "stock": stock,
                "in_stock": stock > 0,
                "attributes": attributes,
                "images": [f"https://img.example/{sku}.jpg"],
            },
        )
        ids.append(product.id)
    index_products(merchant_id=merchant.pk, product_ids=ids)
    return ids


@pytest.fixture
def store(db):
    """A merchant with a small catalog and the demo store's policies/FAQs, all indexed."""
    from conversations.demo import demo_load_knowledge

    merchant = MerchantFactory(name="متجر الاختبار")
    make_products(merchant)
    demo_load_knowledge(merchant=merchant)
    return merchant


@pytest.fixture
def store_channel(store):
    return ChannelFactory(merchant=store, kind="webchat")
