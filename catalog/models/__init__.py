"""Catalog models. Products live in products.py; commerce (carts, orders) joins later as commerce.py."""

from catalog.models.products import Category, ImportJob, Product, Synonym

__all__ = ["Category", "ImportJob", "Product", "Synonym"]
