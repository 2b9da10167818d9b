"""Thin Celery task of the daily validation: the report id in, one service call. Sent by
`services.validation_start` through `sync_engine.wakeups.send_named` after commit."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sync_engine.validation.run", ignore_result=True)
def validation_run(report_id: int) -> None:
    from sync_engine.validation.services import validation_run as run

    run(report_id=report_id)
