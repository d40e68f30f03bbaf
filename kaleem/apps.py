from django.apps import AppConfig


class KaleemConfig(AppConfig):
    name = "kaleem"
    verbose_name = "Kaleem platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kaleem import schema  # OpenAPI auth scheme extensions register on import
        from kaleem.admin import scope_tenant_admins
        from kaleem.observability import on_ready

        scope_tenant_admins()  # every tenant model admin gets the merchant filter (admin autodiscovery ran first)
        schema.name_colliding_model_enums()  # stable OpenAPI enum names (ChannelStatusEnum, not StatusA7bEnum)

        on_ready()  # cache invalidation on writes; OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set
