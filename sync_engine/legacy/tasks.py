"""Thin Celery task of Match Legacy Records: the job id in, one service call. Sent by
`services.legacy_match_start` through `sync_engine.wakeups.send_named` after commit."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sync_engine.legacy.match", ignore_result=True)
def legacy_match(job_id: int) -> None:
    from sync_engine.legacy.services import legacy_match_run

    legacy_match_run(job_id=job_id)
