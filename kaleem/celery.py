import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaleem.settings.base")

app = Celery("kaleem")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = {
    "kaleem.outbox_*": {"queue": "outbox"},
    "channels.*": {"queue": "webhooks"},
    "catalog.index_*": {"queue": "embeddings"},
    "conversations.*": {"queue": "assistant"},
}
app.autodiscover_tasks()
