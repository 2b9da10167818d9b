"""The Celery app. Broker and queues come from Django settings (CELERY_* names)."""

import inspect
import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, task_postrun, task_prerun

from cothon import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cothon.settings")

app = Celery("cothon")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Send to Salesforce's task lives beside the quote flow's own tasks module, not in it.
app.autodiscover_tasks(lambda: ["sync_engine.quotes"], related_name="send_tasks")


# --- correlation ids and JSON logs in workers and beat (cothon/logs.py, docs/monitoring.md) ---
_TOKENS: dict[str, list] = {}
_PARAMS: dict[str, list[str]] = {}


def _arguments(task, args, kwargs) -> dict:
    """The task's arguments by name (tasks take ids: connection_id, run_id, …)."""
    if task.name not in _PARAMS:
        try:
            _PARAMS[task.name] = list(inspect.signature(task.run).parameters)
        except (TypeError, ValueError):
            _PARAMS[task.name] = []
    named = dict(zip(_PARAMS[task.name], args or ()))
    named.update(kwargs or {})
    return named


@task_prerun.connect
def _task_started(task_id=None, task=None, args=None, kwargs=None, **extra) -> None:
    named = _arguments(task, args, kwargs) if task is not None else {}
    ids = {key: named.get(key) if isinstance(named.get(key), int) else None for key in ("connection_id", "run_id")}
    _TOKENS[task_id or ""] = [
        (logs.task_id, logs.task_id.set(task_id or "")),
        (logs.task_name, logs.task_name.set(getattr(task, "name", "") or "")),
        (logs.connection_id, logs.connection_id.set(ids["connection_id"])),
        (logs.run_id, logs.run_id.set(ids["run_id"])),
    ]


@task_postrun.connect
def _task_finished(task_id=None, **extra) -> None:
    for var, token in reversed(_TOKENS.pop(task_id or "", [])):
        try:
            var.reset(token)
        except ValueError:  # set in another context (a thread pool): clear instead
            var.set(None if var in (logs.connection_id, logs.run_id) else "")


@after_setup_logger.connect
@after_setup_task_logger.connect
def _structured_logs(logger=None, **extra) -> None:
    """Celery sets up its own handlers (-l info): give them the correlation ids, and the JSON
    format when COTHON_LOG_FORMAT=json."""
    from django.conf import settings

    for handler in (logger.handlers if logger is not None else []):
        handler.addFilter(logs.CorrelationFilter())
        if getattr(settings, "COTHON_LOG_FORMAT", "text") == "json":
            handler.setFormatter(logs.JsonFormatter())
