"""The Celery app. Broker and queues come from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cothon.settings")

app = Celery("cothon")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Send to Salesforce's task lives beside the quote flow's own tasks module, not in it.
app.autodiscover_tasks(lambda: ["sync_engine.quotes"], related_name="send_tasks")
