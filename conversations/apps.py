from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kaleem.demo import register_demo_loader
        from kaleem.outbox import register_handler
        from merchants.knowledge.indexing import on_knowledge_changed

        # Store knowledge is owned by the assistant area; its re-indexing handler is registered here.
        register_handler("knowledge.changed", on_knowledge_changed)

        from conversations.inbox_live import INBOX_EVENTS, on_inbox_events
        from kaleem.outbox.registry import register_batch_handler

        for event_type in INBOX_EVENTS:  # wake the store's open inbox pages (SSE)
            register_batch_handler(event_type, on_inbox_events)

        from conversations.demo import demo_load_knowledge

        register_demo_loader(30, "knowledge", demo_load_knowledge)
