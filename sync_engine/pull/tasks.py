"""Thin Celery tasks of the pull: ids in, one service call."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sync_engine.pull.incremental", ignore_result=True)
def pull_incremental_task(connection_id: int) -> None:
    from sync_engine.pull.incremental import pull_incremental

    pull_incremental(connection_id=connection_id)


@shared_task(name="sync_engine.pull.scheduled_pulls", ignore_result=True)
def scheduled_pulls() -> None:
    from sync_engine.pull.schedule import scheduled_pulls as run

    run()


@shared_task(name="sync_engine.pull.process_notifications", ignore_result=True)
def process_notifications(connection_id: int) -> None:
    """Outbound Messages stored by the receiver (real-time queue)."""
    from sync_engine.pull.outbound import notifications_process

    notifications_process(connection_id=connection_id)


@shared_task(name="sync_engine.pull.contact_roles", ignore_result=True)
def contact_roles_pending(connection_id: int) -> None:
    """The contact roles of opportunities the real-time pull applied, read together."""
    from sync_engine.pull.outbound import contact_roles_pull_pending

    contact_roles_pull_pending(connection_id=connection_id)


@shared_task(name="sync_engine.pull.sweep_notifications", ignore_result=True)
def sweep_notifications() -> None:
    from sync_engine.pull.outbound import notifications_sweep

    notifications_sweep()


@shared_task(name="sync_engine.pull.ensure_outbound_rules", ignore_result=True)
def ensure_outbound_rules_task(connection_id: int) -> None:
    from sync_engine.pull.rules import outbound_rules_refresh

    outbound_rules_refresh(connection_id=connection_id)
