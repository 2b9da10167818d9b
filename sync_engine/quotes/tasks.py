"""Thin Celery tasks of the quotes from Salesforce: ids in, one service call."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sync_engine.quotes.process_notifications", ignore_result=True)
def process_notifications(connection_id: int) -> None:
    """Quote notifications stored by the receiver (real-time queue)."""
    from sync_engine.quotes.inbound import quote_notifications_process

    quote_notifications_process(connection_id=connection_id)


@shared_task(name="sync_engine.quotes.synchronize_now", ignore_result=True)
def synchronize_now(run_id: int) -> None:
    """One Synchronize now (background queue)."""
    from sync_engine.quotes.sync_now import quote_sync_run

    quote_sync_run(run_id=run_id)


@shared_task(name="sync_engine.quotes.sweep", ignore_result=True)
def sweep() -> None:
    """Notifications left unprocessed and Synchronize now runs whose task was lost."""
    from sync_engine.quotes.inbound import quote_notifications_sweep
    from sync_engine.quotes.sync_now import quote_syncs_sweep

    quote_notifications_sweep()
    quote_syncs_sweep()
