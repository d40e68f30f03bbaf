"""Catalog models. Products live in products.py; commerce (carts, orders) in commerce.py."""

from catalog.models.commerce import Cart, CartItem, Order, OrderItem, OrderStatusHistory
from catalog.models.products import Category, ImportJob, Product, ProductImage, Synonym

__all__ = [
    "Cart",
    "CartItem",
    "Category",
    "ImportJob",
    "Order",
    "OrderItem",
    "OrderStatusHistory",
    "Product",
    "ProductImage",
    "Synonym",
]
