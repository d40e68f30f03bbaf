"""Catalog endpoints taking an object id, for the one cross-tenant test (kaleem/tests/test_tenant_isolation.py)."""

from catalog.models import ImportJob, Synonym
from catalog.tests import commerce_tenant_endpoints  # noqa: F401 - registers carts and orders endpoints
from catalog.tests.factories import CategoryFactory, ProductFactory
from kaleem.testing.tenant_isolation import register_tenant_endpoint


def _product(merchant):
    return ProductFactory(merchant=merchant).pk


def _category(merchant):
    return CategoryFactory(merchant=merchant).pk


def _import_job(merchant):
    return ImportJob.objects.create(merchant=merchant, filename="x.csv").pk


def _synonym(merchant):
    return Synonym.objects.create(merchant=merchant, terms=["a", "b"]).pk


P = "/api/v1/catalog/products/{id}"
register_tenant_endpoint("catalog-product-detail", "GET", P, _product)
register_tenant_endpoint("catalog-product-detail", "PATCH", P, _product, body={"title_en": "hijacked"})
register_tenant_endpoint("catalog-product-detail", "DELETE", P, _product)
register_tenant_endpoint("catalog-product-archive", "POST", P + "/archive", _product)
register_tenant_endpoint("catalog-product-similar", "GET", P + "/similar", _product)
C = "/api/v1/catalog/categories/{id}"
register_tenant_endpoint("catalog-category-detail", "GET", C, _category)
register_tenant_endpoint("catalog-category-detail", "PATCH", C, _category, body={"name_en": "hijacked"})
register_tenant_endpoint("catalog-category-detail", "DELETE", C, _category)
register_tenant_endpoint("catalog-import-detail", "GET", "/api/v1/catalog/imports/{id}", _import_job)
register_tenant_endpoint("catalog-synonym-detail", "DELETE", "/api/v1/catalog/synonyms/{id}", _synonym)


def _product_image(merchant):
    """An uploaded image of `merchant`'s product; the id slot carries "<product id>/images/<image id>"."""
    from catalog.models import ProductImage

    product = ProductFactory(merchant=merchant)
    image = ProductImage.objects.create(
        merchant=merchant,
        product=product,
        file="catalog/products/x.jpg",
        content_type="image/jpeg",
        size_bytes=1,
        width=1,
        height=1,
    )
    return f"{product.pk}/images/{image.pk}"


register_tenant_endpoint("catalog-product-images", "GET", P + "/images", _product)
register_tenant_endpoint("catalog-product-images", "POST", P + "/images", _product)
register_tenant_endpoint("catalog-product-image-detail", "DELETE", P, _product_image)
