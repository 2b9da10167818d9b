"""Thin Celery task of routing: the routed file's id in, one service call. Sent by
`upload.route_file` / `upload.routed_file_retry` through `sync_engine.wakeups.send_named` after
commit (registered through CELERY_IMPORTS: autodiscovery finds only `tasks.py`)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sync_engine.appointments.route_upload", ignore_result=True)
def route_upload(routed_file_id: int) -> None:
    from sync_engine.appointments.upload import routed_file_upload

    routed_file_upload(routed_file_id=routed_file_id)
