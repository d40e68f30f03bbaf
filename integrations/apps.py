from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.automations.delivery import on_outbox_events
        from kaleem.outbox import register_batch_handler

        register_batch_handler("*", on_outbox_events)
