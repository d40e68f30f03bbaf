from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "channels"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from channels.demo import demo_load
        from channels.services import outbox_messages_outbound
        from kaleem.demo import register_demo_loader
        from kaleem.outbox import register_batch_handler

        register_batch_handler("message.outbound", outbox_messages_outbound)
        register_demo_loader(40, "channels", demo_load)
        _schedule_sweep()


def _schedule_sweep() -> None:
    """Beat entry for the webhook sweep (re-enqueues lost or orphaned events), kept with the app."""
    from kaleem.celery import app

    schedule = app.conf.beat_schedule
    if schedule is not None and "channels-webhook-sweep" not in schedule:
        schedule["channels-webhook-sweep"] = {"task": "channels.sweep_webhook_events", "schedule": 5.0}
