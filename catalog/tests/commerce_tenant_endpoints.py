"""Carts and orders endpoints taking an object id (imported by catalog/tests/tenant_endpoints.py)."""

from catalog import commerce_services
from catalog.tests.factories import ProductFactory
from kaleem.testing.tenant_isolation import register_tenant_endpoint

CUSTOMER = {"name": "Sara", "phone": "0551234567", "city": "Riyadh", "address": "Olaya 1"}


def _cart(merchant):
    return commerce_services.cart_open(merchant=merchant).pk


def _cart_item(merchant):
    cart = commerce_services.cart_open(merchant=merchant)
    return commerce_services.cart_add_item(merchant=merchant, cart=cart, product=ProductFactory(merchant=merchant)).pk


def _order(merchant):
    product = ProductFactory(merchant=merchant, stock=3)
    return commerce_services.order_create(merchant=merchant, lines=[{"product": product.pk}], customer=CUSTOMER)[0].pk


register_tenant_endpoint("commerce-cart-detail", "GET", "/api/v1/carts/{id}", _cart)
register_tenant_endpoint(
    "commerce-cart-items",
    "POST",
    "/api/v1/carts/{id}/items",
    _cart,
    body={"product": "00000000-0000-0000-0000-000000000000"},
)
register_tenant_endpoint(
    "commerce-cart-checkout", "POST", "/api/v1/carts/{id}/checkout", _cart, body={"customer": CUSTOMER}
)
register_tenant_endpoint(
    "commerce-cart-item-detail", "PATCH", "/api/v1/carts/items/{id}", _cart_item, body={"quantity": 2}
)
register_tenant_endpoint("commerce-cart-item-detail", "DELETE", "/api/v1/carts/items/{id}", _cart_item)
register_tenant_endpoint("commerce-order-detail", "GET", "/api/v1/orders/{id}", _order)
register_tenant_endpoint(
    "commerce-order-status", "POST", "/api/v1/orders/{id}/status", _order, body={"status": "confirmed"}
)
