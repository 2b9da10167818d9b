"""Thin Celery tasks: ids in, one service call, decisions left to the service."""

from __future__ import annotations

from celery import shared_task

from sync_engine.models import Priority


@shared_task(name="sync_engine.push_realtime", ignore_result=True)
def push_realtime(connection_id: int) -> None:
    """Manual and real-time changes of one connection (own queue and worker, decisions.md)."""
    from sync_engine.services import push_and_reschedule

    push_and_reschedule(connection_id=connection_id, max_priority=Priority.REALTIME)


@shared_task(name="sync_engine.push_background", ignore_result=True)
def push_background(connection_id: int, run_id: int | None = None) -> None:
    """Everything pending of one connection, background runs included. (`run_id` is accepted
    for messages sent by older versions; rows carry their run themselves now.)"""
    from sync_engine.services import push_and_reschedule

    push_and_reschedule(connection_id=connection_id, max_priority=None)


@shared_task(name="sync_engine.sweep_outbox", ignore_result=True)
def sweep_outbox() -> None:
    """Re-enqueue stranded work: expired leases (killed workers), lost or due wake-ups, and
    pending rows whose enqueue was lost (crash between commit and enqueue); finish runs."""
    from sync_engine.services import outbox_sweep

    outbox_sweep()


@shared_task(name="sync_engine.deadline_reminders", ignore_result=True)
def deadline_reminders() -> None:
    from sync_engine.services import deadline_reminders_queue

    deadline_reminders_queue()


@shared_task(name="sync_engine.scheduled_syncs", ignore_result=True)
def scheduled_syncs() -> None:
    from sync_engine.services import scheduled_syncs as run

    run()
