"""Thin Celery tasks: ids in, one service call, decisions left to the service.

Only `sync_engine.wakeups` enqueues the push and fan-out tasks (by name); this module imports
services and nothing imports it back."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown

from sync_engine import readiness, services, wakeups
from sync_engine.models import Priority
from sync_engine.reconcile import schedule as reconcile_schedule, service as reconcile_service


@shared_task(name="sync_engine.fan_out", ignore_result=True)
def fan_out(tenant_id: int) -> None:
    """A tenant's recorded changes → outbox rows of its connections, then the real-time push
    (real-time queue: this is the path of a user's save)."""
    services.fan_out_and_push(tenant_id=tenant_id)


@shared_task(name="sync_engine.push_realtime", ignore_result=True)
def push_realtime(connection_id: int) -> None:
    """Manual and real-time changes of one connection (own queue and worker, decisions.md)."""
    services.push_and_reschedule(connection_id=connection_id, max_priority=Priority.REALTIME)


@shared_task(name="sync_engine.push_background", ignore_result=True)
def push_background(connection_id: int, run_id: int | None = None, lane: str = wakeups.BACKGROUND) -> None:
    """Everything pending of one connection, background runs included, on one of its
    background lanes (several with parallel sync). (`run_id` is accepted for messages sent by
    older versions; rows carry their run themselves now.)"""
    services.push_and_reschedule(connection_id=connection_id, max_priority=None, lane=lane)


@shared_task(name="sync_engine.sweep_outbox", ignore_result=True)
def sweep_outbox() -> None:
    """Fan out changes left behind and re-enqueue stranded work: expired leases (killed
    workers), lost or due wake-ups, and pending rows whose enqueue was lost (crash between
    commit and enqueue); finish runs. Each run is beat's tick for /readyz."""
    readiness.record_beat_tick()
    services.outbox_sweep()


@shared_task(name="sync_engine.deadline_reminders", ignore_result=True)
def deadline_reminders() -> None:
    services.deadline_reminders_queue()


@shared_task(name="sync_engine.scheduled_syncs", ignore_result=True)
def scheduled_syncs() -> None:
    services.scheduled_syncs()


@shared_task(name="sync_engine.scheduled_reconciliations", ignore_result=True)
def scheduled_reconciliations() -> None:
    """Beat, every minute: queue each connection's reconciliation when due."""
    reconcile_schedule.scheduled_reconciliations()


@shared_task(name="sync_engine.reconciliation_run", ignore_result=True)
def reconciliation_run(run_id: int) -> None:
    """One queued reconciliation (background queue)."""
    reconcile_service.reconciliation_execute(run_id=run_id)


# --- the worker's heartbeat for /readyz (sync_engine.readiness) -------------------------------
_heartbeat: dict = {}


@worker_ready.connect
def _start_heartbeat(sender=None, **kwargs) -> None:
    """Once the worker consumes: its node name and queues, every 15 s, until it stops."""
    name = getattr(sender, "hostname", "") or "worker"
    queues = list(sender.app.amqp.queues.consume_from or {}) if sender is not None else []
    _heartbeat["name"] = name
    _heartbeat["stop"] = readiness.start_worker_heartbeat(name=name, queues=queues)


@worker_shutdown.connect
def _stop_heartbeat(**kwargs) -> None:
    stop = _heartbeat.pop("stop", None)
    if stop is not None:
        stop.set()
        try:
            readiness.forget_heartbeat(name=_heartbeat["name"])
        except Exception:  # noqa: BLE001 - shutting down anyway; the row goes stale instead
            pass
