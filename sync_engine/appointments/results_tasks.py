"""Thin Celery task of resulting an appointment: the ResultSend's id in, one service call. Sent
by `results.appointment_result` / `results.result_send_retry` through
`sync_engine.wakeups.send_named` after commit (registered through CELERY_IMPORTS, like
routing_tasks: the service is imported when the task runs, after Django's apps are loaded)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sync_engine.appointments.result_send", ignore_result=True)
def result_send(result_send_id: int) -> None:
    from sync_engine.appointments.results import result_send_deliver

    result_send_deliver(result_send_id=result_send_id)
