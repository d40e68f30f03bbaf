from django.apps import AppConfig


class KaleemConfig(AppConfig):
    name = "kaleem"
    verbose_name = "Kaleem platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kaleem import (
            checks,  # noqa: F401  - registers system checks
            schema,  # noqa: F401  - OpenAPI auth scheme extensions
        )
        from kaleem.observability import on_ready

        on_ready()  # cache invalidation on writes; OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set
