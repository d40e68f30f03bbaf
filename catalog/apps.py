from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog.demo import demo_load
        from catalog.events import PRODUCT_CHANGED, PRODUCT_REMOVED
        from catalog.handlers import on_product_changed, on_product_removed
        from kaleem.demo import register_demo_loader
        from kaleem.outbox import register_handler

        register_handler(PRODUCT_CHANGED, on_product_changed)
        register_handler(PRODUCT_REMOVED, on_product_removed)
        register_demo_loader(20, "catalog", demo_load)
